"""Scenarios on a live server with real aiortc peers (zorio_widget/client), no mocks: speech heard in
en and vi, an IVR taking RFC 4733 and in-band digits and transferring, early media before any
answer, reject(486) -> busy, a WAV played at its frequency with PlaybackFinished at its end, one
caller fanned out to two listeners, a recorded call rendered stereo (440 Hz left, 880 Hz right, a
pause as silence of its length) downloaded with a Range request, and a voicemail stored playable."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.calls.conftest import CALLEE_HZ, CALLER_HZ, ORIGIN, near
from tests.live import LiveServer, start_live_server
from tests.media.spectrum import power_at
from tests.media.speech.test_speech import assert_speech, speech_measures
from tests.scenarios.live import add_route, decode_stereo, get, rendered, send_rfc4733, write_tone_wav
from zorio_widget.client import ClientCall, PhoneClient
from zorio_widget.media import aiortc_hook

pytestmark = [pytest.mark.live, pytest.mark.timeout(180)]

WAV_HZ = 660.0
WAV_S = 1.5
SAY_ROUTES = {"en": "7101", "vi": "7102"}
PROMPTS = {
    "en": "Welcome to Zorio. Press one for sales, two for support, or stay on the line.",
    "vi": "Xin chào quý khách. Vui lòng bấm phím một để gặp bộ phận bán hàng.",
}


@pytest.fixture(scope="module")
def sounds() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="zorio-sounds-") as folder:
        write_tone_wav(Path(folder) / "tone.wav", WAV_HZ, WAV_S)
        yield Path(folder)


@pytest.fixture(scope="module")
def server(sounds: Path) -> Iterator[LiveServer]:
    aiortc_hook.install()  # the clients negotiate telephone-event
    live = start_live_server({"PLAYBACK_ROOT": str(sounds), "RING_TIMEOUT_S": "20"})
    for language, number in SAY_ROUTES.items():
        add_route(live, number, "announcement", {"prompt": {"say": PROMPTS[language], "language": language}})
    add_route(live, "7110", "ivr", {"prompt": {"say": "Press one for Bob, three for Carol."},
                                    "options": {"1": {"extension": "1002"}, "3": "extension:1003"},
                                    "timeout_s": 20, "retries": 0})
    add_route(live, "7120", "announcement", {"prompt": {"say": PROMPTS["en"]}, "early_media": True})
    add_route(live, "7130", "tests.scenarios.scripts:reject_with", {"code": 486})
    add_route(live, "7140", "tests.scenarios.scripts:play_file", {"file": "tone.wav"})
    add_route(live, "7150", "tests.scenarios.scripts:fan_out", {"to": ["1002", "1003"]})
    add_route(live, "7170", "tests.scenarios.scripts:tones_digits_vad", {"country": "VN"})
    add_route(live, "7160", "voicemail", {"mailbox": "1002", "max_length_s": 20,
                                          "greeting": {"say": "Leave a message."}})
    yield live
    live.stop()


@pytest.fixture
async def phone(server: LiveServer) -> AsyncIterator[Callable[[str], asyncio.Future[PhoneClient]]]:
    clients: list[PhoneClient] = []

    async def open_phone(extension: str) -> PhoneClient:
        client = await PhoneClient.connect(server.ws_url, server.token(extension), origin=ORIGIN)
        await client.registered()
        clients.append(client)
        return client

    yield open_phone  # type: ignore[misc]
    for client in clients:
        await client.close()


def hears(hz: float, min_rms: float = 0.03) -> Callable[..., bool]:
    return lambda p: p.rms() > min_rms and near(p.dominant_hz(), hz)


async def heard_until_ended(call: ClientCall, seconds: float = 20) -> np.ndarray:
    assert call.probe is not None
    call.probe.keep_last(seconds)
    await call.expect("call.ended", timeout_s=seconds)
    return call.probe.samples() * 32768.0


@pytest.mark.parametrize("language", ["en", "vi"])
async def test_say_is_heard_as_speech(phone, language: str) -> None:
    alice = await phone("1001")
    call = await alice.call(SAY_ROUTES[language], None)
    await call.expect("call.answered", timeout_s=10)
    pcm = await heard_until_ended(call, 30)
    sounding = np.flatnonzero(np.abs(pcm) > 300)
    assert sounding.size, "nothing was heard"
    assert_speech(speech_measures(pcm[sounding[0]:sounding[-1]]))


async def test_an_ivr_takes_rfc4733_and_inband_digits_and_transfers(phone) -> None:
    alice, bob, carol = await phone("1001"), await phone("1002"), await phone("1003")
    call = await alice.call("7110", CALLER_HZ)
    await call.expect("call.answered", timeout_s=10)
    await asyncio.sleep(1.0)  # into the prompt: a digit barges in
    await send_rfc4733(call, "1")
    incoming = await bob.expect("call.incoming", timeout_s=15)
    assert incoming["from"] == "1001"
    answered = await bob.answer(incoming, CALLEE_HZ)
    await answered.expect("call.answered", timeout_s=10)
    assert await call.probe.wait_for(hears(CALLEE_HZ), 10)  # same call_id, now with Bob
    assert await answered.probe.wait_for(hears(CALLER_HZ), 10)
    await call.hangup()
    await answered.expect("call.ended", timeout_s=10)

    second = await alice.call("7110", CALLER_HZ)
    await second.expect("call.answered", timeout_s=10)
    await asyncio.sleep(1.0)
    second.tone.play_digits("3")  # in-band: standard dual tones in the audio
    incoming = await carol.expect("call.incoming", timeout_s=15)
    assert incoming["from"] == "1001"
    await carol.answer(incoming, CALLEE_HZ)
    assert await second.probe.wait_for(hears(CALLEE_HZ), 10)
    await second.hangup()


async def test_early_media_is_heard_before_any_answer(phone) -> None:
    alice = await phone("1001")
    call = await alice.call("7120", None)
    assert call.probe is not None
    assert await call.probe.wait_for(lambda p: p.rms() > 0.02, 15)  # the prompt, while unanswered
    ended = await call.expect("call.ended", timeout_s=30)
    assert ended["reason"] == "no-answer"  # rejected with 480 after the announcement
    assert not [f for f in alice.history if f.get("type") == "call.answered"]


async def test_reject_486_is_the_callers_busy(phone) -> None:
    alice = await phone("1001")
    call = await alice.call("7130", None)
    ended = await call.expect("call.ended", timeout_s=10)
    assert ended["reason"] == "busy" and ended["headers"] == {"X-Why": "test"}


async def test_a_wav_is_heard_at_its_frequency_and_finishes_at_its_end(phone) -> None:
    alice = await phone("1001")
    call = await alice.call("7140", None)
    await call.expect("call.answered", timeout_s=10)
    started = time.monotonic()
    assert await call.probe.wait_for(hears(WAV_HZ), 5)
    message = await call.expect("call.message", timeout_s=10)
    elapsed = time.monotonic() - started
    played_s = float(message["text"].split()[1])
    assert message["text"].endswith("None") and abs(played_s - WAV_S) < 0.1, message
    assert WAV_S - 0.3 < elapsed < WAV_S + 1.5, elapsed  # at its end, not before
    await asyncio.sleep(0.6)
    assert call.probe.rms() < 0.01  # silence afterwards
    await call.hangup()


async def test_one_caller_is_fanned_out_to_two_listeners(phone) -> None:
    alice, bob, carol = await phone("1001"), await phone("1002"), await phone("1003")
    call = await alice.call("7150", CALLER_HZ)
    await call.expect("call.answered", timeout_s=10)
    listeners = []
    for client, hz in ((bob, CALLEE_HZ), (carol, 1250.0)):
        incoming = await client.expect("call.incoming", timeout_s=15)
        listeners.append(await client.answer(incoming, hz))
    for listener in listeners:
        assert await listener.probe.wait_for(hears(CALLER_HZ), 10)
    await call.hangup()
    for listener in listeners:
        await listener.expect("call.ended", timeout_s=15)


async def test_a_recorded_call_is_stereo_caller_left_called_right_with_a_pause(
        phone, server: LiveServer, tmp_path: Path) -> None:
    alice, bob = await phone("1001"), await phone("1002")
    call = await alice.call("1002", CALLER_HZ, options={"recording": True})
    answered = await bob.answer(await bob.expect("call.incoming"), CALLEE_HZ)
    assert (await call.expect("call.recording", timeout_s=10))["state"] == "recording"
    assert (await answered.expect("call.recording", timeout_s=10))["state"] == "recording"
    assert await call.probe.wait_for(hears(CALLEE_HZ), 10)
    await asyncio.sleep(1.5)
    reply = await alice.request({"type": "call.record", "call_id": call.call_id, "action": "pause"}, "call.recording")
    assert reply["state"] == "paused"
    paused_at = time.monotonic()
    await asyncio.sleep(2.0)
    reply = await alice.request({"type": "call.record", "call_id": call.call_id, "action": "resume"}, "call.recording")
    paused_s = time.monotonic() - paused_at
    assert reply["state"] == "recording"
    await asyncio.sleep(1.5)
    await call.hangup()
    record = await rendered(server, call.uuid)
    assert record["recording_url"] == f"/api/webphone/calls/{call.uuid}/recording"
    auth = {"Authorization": f"Bearer {server.token('1002')}"}
    status, headers, whole = await asyncio.to_thread(get, server, record["recording_url"], auth)
    assert status == 200 and headers["Content-Type"] == "audio/ogg"
    status, headers, part = await asyncio.to_thread(get, server, record["recording_url"], {**auth, "Range": "bytes=0-"})
    assert status == 206 and part == whole and headers["Content-Range"] == f"bytes 0-{len(whole) - 1}/{len(whole)}"
    status, _, head = await asyncio.to_thread(get, server, record["recording_url"], {**auth, "Range": "bytes=0-99"})
    assert status == 206 and head == whole[:100]
    pcm, channels = decode_stereo(whole, tmp_path / "call.ogg")
    assert channels == 2
    left, right = pcm[:, 0], pcm[:, 1]
    loud = np.sqrt(np.convolve(left**2 + right**2, np.ones(2400) / 2400, mode="same"))
    talking = loud > 0.5 * np.percentile(loud, 90)
    assert power_at(left[talking], CALLER_HZ) > 0.5 and power_at(right[talking], CALLEE_HZ) > 0.5
    assert power_at(left[talking], CALLEE_HZ) < 0.05 and power_at(right[talking], CALLER_HZ) < 0.05
    # the pause: one silent stretch of its length in both channels, not a cut
    quiet = ~talking
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(int), [0]]))))[::2] / 48000
    assert abs(max(runs) - paused_s) < 0.4, (runs, paused_s)
    assert abs(len(pcm) / 48000 - (1.5 + paused_s + 1.5)) < 1.5, len(pcm) / 48000


async def test_a_voicemail_is_stored_playable_for_the_mailbox(phone, server: LiveServer, tmp_path: Path) -> None:
    alice = await phone("1001")
    call = await alice.call("7160", CALLER_HZ)
    await call.expect("call.answered", timeout_s=10)
    assert (await call.expect("call.recording", timeout_s=20))["state"] == "recording"  # after greeting and beep
    await asyncio.sleep(2.5)
    await call.hangup()
    record = await rendered(server, call.uuid)
    assert record["kind"] == "voicemail" and record["to"] == "7160" and record["recording_url"]
    status, _, data = await asyncio.to_thread(get, server, record["recording_url"],
                                              {"Authorization": f"Bearer {server.token('1002')}"})
    assert status == 200, data  # the mailbox's extension may fetch it
    pcm, _channels = decode_stereo(data, tmp_path / "voicemail.ogg")
    assert 2.0 < len(pcm) / 48000 < 6.0
    assert power_at(pcm[:, 0], CALLER_HZ) > 0.5
    status, _, _ = await asyncio.to_thread(get, server, record["recording_url"],
                                           {"Authorization": f"Bearer {server.token('1003')}"})
    assert status == 404


@pytest.mark.parametrize(("tone_hz", "talking"), [(CALLER_HZ, True), (None, False)])
async def test_a_progress_tone_vad_and_digits_with_a_pause(phone, tone_hz: float | None, talking: bool) -> None:
    alice = await phone("1001")
    call = await alice.call("7170", tone_hz)
    await call.expect("call.answered", timeout_s=10)
    assert call.probe is not None
    call.probe.watch_telephone_events(call.pc.getReceivers()[0])
    assert await call.probe.wait_for(hears(425.0, 0.01), 5)  # Vietnam's ringback: 425 Hz
    message = await call.expect("call.message", timeout_s=10)
    assert message["text"] == f"vad False {talking}"
    assert await call.probe.wait_for(lambda p: p.event_digits == ["1", "2"], 10)
    starts = [p.arrival_time_ms for p in call.probe.events if p.marker]
    assert len(starts) == 2 and starts[1] - starts[0] >= 500, starts  # `p`: half a second between
    await call.hangup()
