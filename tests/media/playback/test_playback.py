"""Playback of real files (generated WAV/mp3/ogg/flac) from the static folder and from a real HTTP
server: what plays decodes back to the file's frequency, ``finished`` fires at the end and on
every error, URLs are cached by ETag, and nothing outside the rules is opened or fetched."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
import pytest

from tests.media.playback.conftest import FileServer, encode_file
from tests.media.spectrum import dominant_hz
from zorio_widget.media.playback import Playback, PlaybackConfig, PlaybackResult, Player, play_into
from zorio_widget.media.playback.pcm import decode_opus

RATE = 48000


def player_for(root: Path, server: FileServer | None = None, **limits: float) -> Player:
    hosts = frozenset({server.base.removeprefix("http://")}) if server else frozenset()
    return Player(PlaybackConfig(root=root, allowed_hosts=hosts, **limits))  # type: ignore[arg-type]


async def play(playback: Playback) -> tuple[PlaybackResult, list[tuple[float, bytes]], float]:
    """Pace the playback into a list; returns (result, [(loop time, payload)], finished time)."""
    loop = asyncio.get_running_loop()
    sent: list[tuple[float, bytes]] = []
    result = await asyncio.wait_for(play_into(playback, lambda p: sent.append((loop.time(), p))), 30)
    return result, sent, loop.time()


def heard_hz(payloads: list[bytes]) -> float:
    pcm = decode_opus(payloads).astype(np.float64)
    return dominant_hz(pcm[RATE // 10 : -RATE // 10])


async def test_a_static_wav_is_heard_at_its_frequency_and_finished_fires_at_its_end(tmp_path: Path) -> None:
    (tmp_path / "sounds").mkdir()
    (tmp_path / "sounds" / "tone.wav").write_bytes(encode_file("wav", 1000, seconds=1.0))
    finished: list[PlaybackResult] = []
    playback = player_for(tmp_path).start_playback("/static/sounds/tone.wav", on_finished=finished.append)
    assert playback.state == "loading"
    result, sent, ended_at = await play(playback)
    await asyncio.sleep(0)
    assert finished == [result] and result.error is None and not result.stopped
    assert abs(heard_hz([p for _t, p in sent]) - 1000) < 5
    # 1 s of audio (+ the encoder's padding frame), paced in real time
    assert 1.0 <= len(sent) * 0.02 <= 1.1 and result.played_s == pytest.approx(len(sent) * 0.02)
    assert 0.9 <= ended_at - sent[0][0] <= 1.6
    assert playback.state == "finished" and playback.next_payload() is None


@pytest.mark.parametrize("fmt", ["wav", "mp3", "ogg", "flac"])
async def test_each_format_from_a_url_decodes_back_to_its_frequency(tmp_path: Path, file_server: FileServer,
                                                                     fmt: str) -> None:
    url = file_server.put(f"/tone.{fmt}", encode_file(fmt, 1000, seconds=1.0))
    clip = await player_for(tmp_path, file_server).load(url)
    assert abs(heard_hz(list(clip.packets)) - 1000) < 5
    assert 1.0 <= clip.duration_s <= 1.1


async def test_a_url_is_cached_by_etag_and_revalidated_each_time(tmp_path: Path, file_server: FileServer) -> None:
    player = player_for(tmp_path, file_server)
    url = file_server.put("/prompt.mp3", encode_file("mp3", 1000))
    first = await player.load(url)
    again = await player.load(url)
    assert again is first and player.decodes == 1
    assert file_server.statuses("/prompt.mp3") == [200, 304]
    assert file_server.requests[1][1] == file_server.resources["/prompt.mp3"].etag
    # the file changes on the server: new ETag, decoded again
    file_server.put("/prompt.mp3", encode_file("mp3", 600))
    changed = await player.load(url)
    assert changed is not first and player.decodes == 2
    assert abs(heard_hz(list(changed.packets)) - 600) < 5
    # without an ETag nothing is cached
    plain = file_server.put("/plain.wav", encode_file("wav", 1000), etag=False)
    await player.load(plain)
    await player.load(plain)
    assert file_server.statuses("/plain.wav") == [200, 200] and player.decodes == 4


async def test_a_chunked_and_a_close_delimited_answer_play(tmp_path: Path, file_server: FileServer) -> None:
    player = player_for(tmp_path, file_server)
    for mode in ("chunked", "close"):
        url = file_server.put(f"/{mode}.flac", encode_file("flac", 1000), mode=mode)
        assert abs(heard_hz(list((await player.load(url)).packets)) - 1000) < 5


async def test_a_local_file_is_cached_until_it_changes(tmp_path: Path) -> None:
    player = player_for(tmp_path)
    path = tmp_path / "a.wav"
    path.write_bytes(encode_file("wav", 1000))
    first = await player.load("a.wav")
    assert await player.load("a.wav") is first and player.decodes == 1
    path.write_bytes(encode_file("wav", 500))
    os.utime(path, ns=(1, 1))
    assert abs(heard_hz(list((await player.load("a.wav")).packets)) - 500) < 5 and player.decodes == 2


async def errors_of(player: Player, location: str) -> PlaybackResult:
    finished: list[PlaybackResult] = []
    playback = player.start_playback(location, on_finished=finished.append)
    result, sent, _ = await play(playback)
    await asyncio.sleep(0)
    assert finished == [result] and not sent and result.played_s == 0
    assert result.error is not None, result
    return result


async def test_http_errors_end_the_playback_with_the_error(tmp_path: Path, file_server: FileServer) -> None:
    player = player_for(tmp_path, file_server)
    assert (await errors_of(player, file_server.base + "/missing.mp3")).error.code == "http_error"  # type: ignore[union-attr]
    big = b"ID3" + bytes(10 * 1024 * 1024)
    for mode in ("length", "chunked", "close"):
        url = file_server.put(f"/big-{mode}.mp3", big, mode=mode)
        assert (await errors_of(player, url)).error.code == "too_large"  # type: ignore[union-attr]
    text = file_server.put("/notes.txt", b"this is not audio at all" * 100)
    assert (await errors_of(player, text)).error.code == "unsupported_format"  # type: ignore[union-attr]
    garbage = file_server.put("/broken.ogg", b"OggS" + os.urandom(5000))
    assert (await errors_of(player, garbage)).error.code == "decode_failed"  # type: ignore[union-attr]


async def test_a_slow_server_times_out(tmp_path: Path, file_server: FileServer) -> None:
    player = player_for(tmp_path, file_server, total_timeout_s=0.5)
    url = file_server.put("/slow.wav", encode_file("wav", 1000), mode="slow")
    result = await errors_of(player, url)
    assert result.error.code == "timeout"  # type: ignore[union-attr]


async def test_nothing_outside_the_rules_is_fetched_or_opened(tmp_path: Path, file_server: FileServer) -> None:
    url = file_server.put("/tone.wav", encode_file("wav", 1000))
    # default: no allowed hosts, so no URL at all
    refused = await errors_of(player_for(tmp_path), url)
    assert refused.error.code == "host_not_allowed" and file_server.requests == []  # type: ignore[union-attr]
    player = player_for(tmp_path, file_server)
    # a redirect off the allowed host is not followed
    hop = file_server.put("/hop", b"", mode="redirect", location="http://localhost:1/elsewhere.wav")
    assert (await errors_of(player, hop)).error.code == "host_not_allowed"  # type: ignore[union-attr]
    assert file_server.statuses("/hop") == [302]
    # a redirect on the same host is followed
    file_server.put("/hop2", b"", mode="redirect", location="/tone.wav")
    assert len((await player.load(file_server.base + "/hop2")).packets) > 40
    for location, code in [
        (f"http://user:pw@{file_server.base.removeprefix('http://')}/tone.wav", "unsupported_url"),
        ("file:///etc/passwd", "unsupported_url"),
        ("ftp://example.com/a.mp3", "unsupported_url"),
        ("../secret.wav", "forbidden_path"),
        ("sounds/../../secret.wav", "forbidden_path"),
        ("/static/%2e%2e/secret.wav", "forbidden_path"),
        ("sounds\\..\\x.wav", "forbidden_path"),
        ("nope.wav", "not_found"),
        ("", "unsupported_url"),
    ]:
        assert (await errors_of(player, location)).error.code == code, location  # type: ignore[union-attr]
    # a symbolic link out of the folder is refused too
    (tmp_path.parent / "outside.wav").write_bytes(encode_file("wav", 1000))
    (tmp_path / "link.wav").symlink_to(tmp_path.parent / "outside.wav")
    assert (await errors_of(player, "link.wav")).error.code == "forbidden_path"  # type: ignore[union-attr]


async def test_loop_repeats_until_stopped_and_stop_while_loading_ends_it(tmp_path: Path) -> None:
    (tmp_path / "beep.wav").write_bytes(encode_file("wav", 1000, seconds=0.2))
    player = player_for(tmp_path)
    playback = player.start_playback("beep.wav", loop=True)
    await playback.ready()
    one_pass = len((await player.load("beep.wav")).packets)
    payloads = [playback.next_payload() for _ in range(one_pass * 3 + 1)]
    assert all(payloads) and payloads[one_pass] == payloads[0] and playback.state == "playing"
    playback.stop()
    result = await playback.wait()
    assert result.stopped and result.error is None and result.played_s == pytest.approx((one_pass * 3 + 1) * 0.02)
    loading = player.start_playback(file_server_free_url := "never-there.wav")
    loading.stop()
    assert (await loading.wait()).stopped and file_server_free_url
    with pytest.raises(TypeError):
        playback.add_finished_callback("not callable")  # type: ignore[arg-type]
