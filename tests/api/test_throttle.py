"""Failed `Authorization: Api-Key` attempts are throttled per client address and per key prefix.

The counters live in Django's cache: in process memory without REDIS_URL, in Redis with it (CI runs
the suite both ways), where two server processes share them. Each test sends from addresses of its
own, so counters never leak between tests (or between runs sharing one Redis).
"""

import json
import os
import random
import secrets
import time
import urllib.error
import urllib.request
import uuid

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.live import LiveServer, start_live_server
from zorio_widget.api.throttle import WINDOW_S, ApiKeyThrottle
from zorio_widget.tenants.models import API_KEY_PREFIX_LEN, Extension

URL = "/api/webphone/tokens"


def fresh_address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def wrong_key(prefix: str = "") -> str:
    return (prefix + secrets.token_urlsafe(32))[:43]


def post(client: Client, key: str, address: str):
    return client.post(URL, json.dumps({"extension": "1001"}), content_type="application/json",
                       headers={"Authorization": f"Api-Key {key}"}, REMOTE_ADDR=address)


def assert_rate_limited(response) -> int:
    assert response.status_code == 429, response.content
    assert response.json()["code"] == "rate_limited" and response.json()["message"]
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= WINDOW_S
    return retry_after


def wait_for_a_fresh_window(needed_s: float) -> None:
    """Counters are per clock minute: start where the next `needed_s` stay in one window."""
    left_s = WINDOW_S - time.time() % WINDOW_S
    if left_s < needed_s:
        time.sleep(left_s + 0.05)


def test_500_wrong_keys_from_one_address_get_429_after_the_threshold(client: Client, extension: Extension,
                                                                     api_key: str, settings) -> None:
    settings.API_KEY_FAILURES_PER_IP_PER_MINUTE, settings.API_KEY_FAILURES_PER_MINUTE = 20, 30
    attacker, partner = fresh_address(), fresh_address()
    statuses = []
    for _ in range(500):
        response = post(client, wrong_key(), attacker)
        if response.status_code == 429:
            assert_rate_limited(response)
        statuses.append(response.status_code)
    assert statuses[:20] == [401] * 20
    # Only a new clock minute in the middle of the loop lets 20 more through.
    assert statuses.count(401) <= 40 and statuses.count(429) >= 460
    assert set(statuses) == {401, 429}
    # The valid key from another address still works, and the attacker's address stays refused.
    assert post(client, api_key, partner).status_code == 201
    assert_rate_limited(post(client, api_key, attacker))


def test_failures_on_one_prefix_hold_that_prefix_back_from_every_address(client: Client, extension: Extension,
                                                                         api_key: str, settings) -> None:
    settings.API_KEY_FAILURES_PER_IP_PER_MINUTE, settings.API_KEY_FAILURES_PER_MINUTE = 1000, 5
    wait_for_a_fresh_window(10)
    target = secrets.token_urlsafe(6)[:API_KEY_PREFIX_LEN]
    for _ in range(5):
        assert post(client, wrong_key(target), fresh_address()).status_code == 401
    address = fresh_address()
    assert_rate_limited(post(client, wrong_key(target), address))
    # A key with another prefix, from that same address, is not held back by them.
    assert not api_key.startswith(target)
    assert post(client, api_key, address).status_code == 201


def test_successes_and_requests_without_a_key_count_nothing(client: Client, extension: Extension,
                                                            api_key: str, settings) -> None:
    settings.API_KEY_FAILURES_PER_IP_PER_MINUTE, settings.API_KEY_FAILURES_PER_MINUTE = 3, 3
    wait_for_a_fresh_window(10)
    address = fresh_address()
    for _ in range(10):
        assert post(client, api_key, address).status_code == 201
        response = client.post(URL, "{}", content_type="application/json", REMOTE_ADDR=address)
        assert response.status_code == 401
    assert [post(client, wrong_key(), address).status_code for _ in range(4)] == [401, 401, 401, 429]


def test_retry_after_is_the_rest_of_the_window_and_zero_means_no_limit(settings) -> None:
    class At(ApiKeyThrottle):
        now = 1_800_000_000.0 + 15  # 15 s into a window

        def _now(self) -> float:
            return self.now

    settings.API_KEY_FAILURES_PER_IP_PER_MINUTE, settings.API_KEY_FAILURES_PER_MINUTE = 2, 0
    throttle, prefix, address = At(), secrets.token_urlsafe(6), fresh_address()
    throttle.record_failure(prefix, address)
    assert throttle.retry_after_s(prefix, address) is None
    throttle.record_failure(prefix, address)
    assert throttle.retry_after_s(prefix, address) == 45
    assert throttle.retry_after_s(prefix, fresh_address()) is None  # the prefix has no limit
    throttle.now += 44.5
    assert throttle.retry_after_s(prefix, address) == 1
    throttle.now += 1  # the next window
    assert throttle.retry_after_s(prefix, address) is None


def live_post(server: LiveServer, key: str) -> int:
    request = urllib.request.Request(f"{server.url}{URL}", data=b'{"extension": "1001"}', method="POST",
                                     headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        assert exc.code != 429 or 1 <= int(exc.headers["Retry-After"]) <= WINDOW_S
        return exc.code


@pytest.mark.live
@pytest.mark.timeout(180)
def test_two_server_processes_share_the_counters_through_redis_only() -> None:
    """With REDIS_URL the cache is Redis: failures seen by one process hold the address back in the
    other. Without it each process counts alone (LocMemCache), and the assertion says so."""
    shared = bool(os.environ.get("REDIS_URL"))
    assert (django_settings.CACHES["default"]["BACKEND"].endswith("RedisCache")) is shared
    # A key prefix of their own keeps these servers' counters and channels apart from other servers.
    env = {"API_KEY_FAILURES_PER_IP_PER_MINUTE": "5", "API_KEY_FAILURES_PER_MINUTE": "0",
           "CHANNEL_PREFIX": f"zorio-throttle-{uuid.uuid4().hex[:8]}"}
    first = start_live_server(env)
    try:
        second = start_live_server({**env, "DATABASE_URL": first.env["DATABASE_URL"]})
        try:
            wait_for_a_fresh_window(15)
            assert [live_post(first, wrong_key()) for _ in range(6)] == [401] * 5 + [429]
            assert live_post(second, wrong_key()) == (429 if shared else 401)
            assert live_post(second, second.api_key) == (429 if shared else 201)
        finally:
            second.stop()
    finally:
        first.stop()
