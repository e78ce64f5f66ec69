"""The lines of an extension, claimed across processes (`RedisDirectory.claim_line`).

Two processes' switchboards (real `Switchboard`s with fake media, tests/calls/fakes.py), each with
its own `RedisDirectory` and node id, on the machine's Redis under a key prefix of the test's own:
claims made at the same instant on both are decided by one script, so exactly one wins; the line
is free again once the winner gives it back (its publisher removes its count); a dead process's
count is skipped, and removed by the reaper's script; Redis away, the process decides alone.
With more lines (call waiting: the per-extension limit), the script takes one only while the
other live nodes' counts and this node's, the claim included, stay within the limit.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from channels.layers import InMemoryChannelLayer
from redis.asyncio import Redis

from tests.calls.fakes import make_board
from tests.live import CLUSTER_REDIS
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.cluster.directory import RedisDirectory
from zorio_widget.cluster.keys import Keys
from zorio_widget.cluster.node import Node
from zorio_widget.cluster.reaper import FORGET_NODE
from zorio_widget.cluster.remote import RemoteDevices

pytestmark = pytest.mark.timeout(60)
TENANT, NUMBER = 7, "1004"
ROUNDS = 40


def process(redis: Redis, keys: Keys, node_id: str) -> tuple[Switchboard, RedisDirectory]:
    """One process of the cluster: its node (never started: no heartbeat), directory and switchboard."""
    layer = InMemoryChannelLayer()
    node = Node(redis=redis, layer=layer, keys=keys, node_id=node_id, name=node_id, load=lambda: (0, 20))
    directory = RedisDirectory(node, RemoteDevices(layer, lambda: (node.node_id, node.channel)))
    board = make_board(directory=directory)
    directory.bind(board)
    return board, directory


@asynccontextmanager
async def two_processes() -> AsyncIterator[tuple[Redis, Keys, tuple[Switchboard, RedisDirectory],
                                                 tuple[Switchboard, RedisDirectory]]]:
    redis = Redis.from_url(CLUSTER_REDIS, decode_responses=True)
    keys = Keys(f"zt{secrets.token_hex(4)}")
    try:
        yield redis, keys, process(redis, keys, "node-a"), process(redis, keys, "node-b")
    finally:
        async for key in redis.scan_iter(f"{keys.prefix}:*"):
            await redis.delete(key)
        await redis.aclose()


async def published(directory: RedisDirectory) -> None:
    """Waits until the directory's publisher has written everything that changed."""
    for _ in range(100):
        task = directory._publishing
        if task is None or task.done():
            return
        await task


async def test_two_processes_claiming_one_line_at_once_exactly_one_wins() -> None:
    async with two_processes() as (redis, keys, (a, dir_a), (b, dir_b)):
        line = keys.lines(TENANT, NUMBER)
        wins = {"node-a": 0, "node-b": 0}
        for _ in range(ROUNDS):
            claims = await asyncio.gather(a.claim_line(TENANT, NUMBER), b.claim_line(TENANT, NUMBER),
                                          a.claim_line(TENANT, NUMBER), b.claim_line(TENANT, NUMBER))
            won = [(name, claim) for name, claim in zip(["node-a", "node-b"] * 2, claims, strict=True) if claim]
            assert len(won) == 1, claims
            name, claim = won[0]
            wins[name] += 1
            assert await redis.hgetall(line) == {name: "1"}  # taken in Redis by the script itself
            assert line in await redis.smembers(keys.owned(name))  # the reaper would find it
            winner, loser = (a, b) if name == "node-a" else (b, a)
            assert winner.lines()[(TENANT, NUMBER)] == 1 and loser.lines()[(TENANT, NUMBER)] == 0
            await published(dir_a)
            await published(dir_b)
            assert await redis.hgetall(line) == {name: "1"}  # the publisher agrees: the claim stays
            assert await loser.claim_line(TENANT, NUMBER) is None
            claim.release()  # the call ended (or was never made): the line is free again
            await published(dir_a if name == "node-a" else dir_b)
            assert await redis.hgetall(line) == {}
        assert sum(wins.values()) == ROUNDS


async def test_a_claim_handed_to_its_call_lasts_as_long_as_it() -> None:
    async with two_processes() as (redis, keys, (a, dir_a), (b, _dir_b)):
        call = object()  # what a transfer hands the claim to: the new call
        claim = await a.claim_line(TENANT, NUMBER)
        assert claim is not None
        claim.hand_to(call)
        assert a.claims.held_by(call, TENANT, NUMBER) is claim
        assert await a.claim_line(TENANT, NUMBER, holder=call) is claim  # its call rings: already held
        assert await b.claim_line(TENANT, NUMBER) is None
        a.claims.release_held_by(call)  # the call ended (`Switchboard.forget_session`)
        await published(dir_a)
        assert await redis.hgetall(keys.lines(TENANT, NUMBER)) == {}
        assert await b.claim_line(TENANT, NUMBER) is not None


async def test_a_dead_process_count_is_skipped_and_the_reaper_removes_it() -> None:
    async with two_processes() as (redis, keys, (a, dir_a), (b, dir_b)):
        assert await b.claim_line(TENANT, NUMBER) is not None
        assert await a.claim_line(TENANT, NUMBER) is None
        dir_a.node.dead["node-b"] = 0.0  # b went silent: its count no longer counts
        claim = await a.claim_line(TENANT, NUMBER)
        assert claim is not None
        assert await redis.hgetall(keys.lines(TENANT, NUMBER)) == {"node-a": "1", "node-b": "1"}
        forget = redis.register_script(FORGET_NODE)  # what the reaper runs for the dead node
        await forget(keys=[keys.owned("node-b")], args=["node-b", '"node":"node-b"', "node-b "])
        assert await redis.hgetall(keys.lines(TENANT, NUMBER)) == {"node-a": "1"}
        del dir_a.node.dead["node-b"]
        claim.release()
        await published(dir_a)
        assert await redis.hgetall(keys.lines(TENANT, NUMBER)) == {}


async def test_a_call_of_the_extension_here_makes_it_busy_without_asking_redis() -> None:
    async with two_processes() as (redis, keys, (a, _dir_a), (b, _dir_b)):
        first = await a.claim_line(TENANT, NUMBER)
        assert first is not None
        await redis.delete(keys.lines(TENANT, NUMBER))  # even if Redis lost it, this process knows
        assert await a.claim_line(TENANT, NUMBER) is None
        assert await a.claim_line(TENANT, "1005") is not None  # another extension's line is its own


async def test_redis_away_the_process_decides_from_what_it_knows(caplog: pytest.LogCaptureFixture) -> None:
    redis = Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.5)
    board, directory = process(redis, Keys("zt-away"), "node-a")
    try:
        claim = await board.claim_line(TENANT, NUMBER)
        assert claim is not None and claim.confirmed  # the call is not failed
        assert "line of 1004 not claimed across the cluster" in caplog.text
        assert await board.claim_line(TENANT, NUMBER) is None  # but this process's own claim counts
        claim.release()
        assert board.lines()[(TENANT, NUMBER)] == 0
    finally:
        if directory._publishing is not None:
            directory._publishing.cancel()  # retrying every heartbeat while Redis is away
        await redis.aclose()


async def test_with_more_lines_the_script_counts_the_other_nodes_up_to_the_limit() -> None:
    async with two_processes() as (redis, keys, (a, dir_a), (b, dir_b)):
        line = keys.lines(TENANT, NUMBER)
        on_b = await b.claim_line(TENANT, NUMBER, limit=2)
        on_a = await a.claim_line(TENANT, NUMBER, limit=2)
        assert on_a is not None and on_b is not None
        assert await redis.hgetall(line) == {"node-a": "1", "node-b": "1"}
        assert await a.claim_line(TENANT, NUMBER, limit=2) is None  # a has a line free, but b holds the other
        assert await b.claim_line(TENANT, NUMBER, limit=2) is None
        assert await redis.hgetall(line) == {"node-a": "1", "node-b": "1"}  # a refused claim writes nothing
        third = await a.claim_line(TENANT, NUMBER, limit=3)
        assert third is not None  # this node's count written is its absolute one: its two claims
        assert await redis.hgetall(line) == {"node-a": "2", "node-b": "1"}
        assert await a.claim_line(TENANT, NUMBER, limit=3) is None
        dir_a.node.dead["node-b"] = 0.0  # b went silent: its count no longer counts
        fourth = await a.claim_line(TENANT, NUMBER, limit=3)
        assert fourth is not None
        assert await redis.hgetall(line) == {"node-a": "3", "node-b": "1"}
        assert await a.claim_line(TENANT, NUMBER, limit=3) is None  # this node's own three fill it
        del dir_a.node.dead["node-b"]
        await published(dir_a)
        assert await redis.hgetall(line) == {"node-a": "3", "node-b": "1"}  # the publisher agrees
        for claim in (on_a, third, fourth, on_b):
            claim.release()
        await published(dir_a)
        await published(dir_b)
        assert await redis.hgetall(line) == {}


async def test_with_two_lines_six_claims_at_once_on_two_processes_take_exactly_two() -> None:
    async with two_processes() as (redis, keys, (a, dir_a), (b, dir_b)):
        line = keys.lines(TENANT, NUMBER)
        for _ in range(ROUNDS):
            claims = await asyncio.gather(*(board.claim_line(TENANT, NUMBER, limit=2) for board in [a, b] * 3))
            won = [claim for claim in claims if claim is not None]
            assert len(won) == 2, claims
            counts = await redis.hgetall(line)
            assert sum(int(count) for count in counts.values()) == 2, counts
            await published(dir_a)
            await published(dir_b)
            assert await redis.hgetall(line) == counts
            for claim in won:
                claim.release()
            await published(dir_a)
            await published(dir_b)
            assert await redis.hgetall(line) == {}
