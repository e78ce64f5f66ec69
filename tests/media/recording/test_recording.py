"""Recording from real encoded packets (libopus through PyAV, G.711 through FFmpeg's encoders),
tapped with jitter, reordering, loss, a timestamp wrap and a pause, then rendered by the real
render process into one stereo Ogg Opus file that is decoded back and measured."""

from __future__ import annotations

import asyncio
import datetime as dt
import fractions
import random
import uuid
from pathlib import Path

import av
import numpy as np
import pytest

from tests.media.spectrum import power_at, rms
from zorio_widget.media.playback.pcm import OpusFrameEncoder
from zorio_widget.media.recording import (
    CALLED,
    CALLER,
    CallRecorder,
    RecordingError,
    RecordingStore,
    RenderError,
    render_call,
    render_stereo,
)
from zorio_widget.media.recording.oggopus import opus_packet_samples

RATE = 48000
FRAME_S = 0.02


def sine(freq: float, seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * 0.3 * 32767).astype(np.int16)


def opus_packets(freq: float, seconds: float) -> list[bytes]:
    encoder = OpusFrameEncoder()
    encoder.feed(sine(freq, seconds))
    return list(encoder.finish())


def g711_packets(codec_name: str, freq: float, seconds: float) -> list[bytes]:
    codec = av.CodecContext.create({"pcmu": "pcm_mulaw", "pcma": "pcm_alaw"}[codec_name], "w")
    codec.format, codec.layout, codec.sample_rate = "s16", "mono", 8000
    codec.time_base = fractions.Fraction(1, 8000)
    pcm = sine(freq, seconds, 8000)
    payloads = []
    for start in range(0, len(pcm), 160):
        frame = av.AudioFrame.from_ndarray(pcm[start : start + 160].reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 8000, start
        payloads.append(b"".join(bytes(p) for p in codec.encode(frame)))
    return payloads


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def decode_stereo(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus" and stream.channels == 2
        frames = [f.to_ndarray() for f in container.decode(stream)]
    data = np.concatenate([f.reshape(-1, 2) if f.shape[0] == 1 else f.T for f in frames])
    return data.T.astype(np.float64)


def silent_run_around(channel: np.ndarray, start_s: float, end_s: float, level: float) -> float:
    """Length of the silent stretch (5 ms blocks 40 dB under ``level``) covering ``[start_s, end_s]``."""
    block = int(0.005 * RATE)
    blocks = channel[: len(channel) // block * block].reshape(-1, block)
    silent = np.sqrt((blocks**2).mean(axis=1)) < level * 0.01
    first, last = int(start_s / 0.005), int(end_s / 0.005) - 1
    assert silent[first : last + 1].all(), f"not silent over {start_s}-{end_s} s"
    while first > 0 and silent[first - 1]:
        first -= 1
    while last + 1 < len(silent) and silent[last + 1]:
        last += 1
    return (last - first + 1) * 0.005


async def tap_call(recorder: CallRecorder, clock: ManualClock, parties: dict[str, tuple[list[bytes], int, int]],
                   seconds: float, pause: tuple[float, float] | None = None,
                   lost: dict[str, tuple[float, float]] | None = None) -> None:
    """Deliver each party's packets (one per 20 ms, timestamps from its own random base) as a
    network would: up to 30 ms of jitter, some pairs swapped, one loss window, one pause."""
    rng = random.Random(7)
    base_time = clock.now
    lost = lost or {}
    for n in range(int(seconds / FRAME_S)):
        t = n * FRAME_S
        clock.now = base_time + t
        if pause and abs(t - pause[0]) < 1e-9:
            recorder.pause()
        if pause and abs(t - pause[1]) < 1e-9:
            recorder.resume()
        batch = []
        for party, (packets, ts_base, ts_step) in parties.items():
            window = lost.get(party)
            if window and window[0] <= t < window[1]:
                continue
            batch.append((party, packets[n % len(packets)], (ts_base + n * ts_step) & 0xFFFFFFFF,
                          clock.now + rng.uniform(0, 0.03)))
        if n % 37 == 5:
            batch.reverse()
        for party, payload, timestamp, arrival in batch:
            recorder.on_packet(party, payload, timestamp, arrival)
        if n % 50 == 0:
            await asyncio.sleep(0)
    clock.now = base_time + seconds


def part_files(folder: Path) -> list[Path]:
    return list(folder.glob(".*.part"))


@pytest.fixture
def store(tmp_path: Path) -> RecordingStore:
    return RecordingStore(tmp_path / "recordings")


async def test_a_440_caller_and_an_880_called_party_render_left_and_right_with_pause_and_loss(
        store: RecordingStore) -> None:
    paths = store.paths("acme", uuid.uuid4())
    clock = ManualClock()
    recorder = CallRecorder(paths.tracks({CALLER: "opus", CALLED: "opus"}), name="test", clock=clock)
    await tap_call(recorder, clock, {
        CALLER: (opus_packets(440, 1.0), random.getrandbits(32), 960),
        CALLED: (opus_packets(880, 1.0), 2**32 - 100 * 960, 960),  # its timestamps wrap at 2 s
    }, seconds=7.0, pause=(3.0, 5.0), lost={CALLER: (5.5, 6.0)})
    recorded = await recorder.stop()
    assert recorder.state == "stopped" and recorded.paused_s == pytest.approx(2.0)
    caller, called = recorded.tracks[CALLER], recorded.tracks[CALLED]
    assert called.dropped == 0 and caller.dropped == 0  # reordered, jittered and wrapped: all placed
    assert called.packets == 250 and caller.packets == 225  # 2 s paused; 0.5 s lost too for the caller
    result = await render_call(recorded, paths.mixed, keep_tracks=True)
    assert result.path == paths.mixed and paths.mixed.exists()
    left, right = decode_stereo(paths.mixed)
    assert len(left) / RATE == pytest.approx(7.0, abs=0.05)
    talk = slice(int(0.5 * RATE), int(2.5 * RATE))
    assert power_at(left[talk], 440) > 0.9 and power_at(right[talk], 880) > 0.9
    assert power_at(left[talk], 880) < 0.01 and power_at(right[talk], 440) < 0.01  # no crosstalk
    level = rms(left[talk])
    paused = slice(int(3.1 * RATE), int(4.9 * RATE))
    assert rms(left[paused]) < level * 0.01 and rms(right[paused]) < level * 0.01
    assert silent_run_around(left, 3.05, 4.95, level) == pytest.approx(2.0, abs=0.03)
    assert silent_run_around(right, 3.05, 4.95, level) == pytest.approx(2.0, abs=0.03)
    assert silent_run_around(left, 5.55, 5.95, level) == pytest.approx(0.5, abs=0.03)  # the lost packets
    assert rms(right[int(5.55 * RATE) : int(5.95 * RATE)]) > level * 0.5  # the other party went on
    assert power_at(left[int(6.2 * RATE) : int(6.9 * RATE)], 440) > 0.9  # and the caller came back
    # the stored tracks are playable Ogg Opus files of the call's length
    with av.open(str(caller.path)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert samples / RATE == pytest.approx(7.0, abs=0.03)


@pytest.mark.parametrize("codec", ["pcmu", "pcma"])
async def test_a_g711_trunk_party_is_stored_as_wav_and_rendered_right(store: RecordingStore, codec: str) -> None:
    paths = store.paths("acme", uuid.uuid4())
    clock = ManualClock()
    recorder = CallRecorder(paths.tracks({CALLER: "opus", CALLED: codec}), clock=clock)
    await tap_call(recorder, clock, {
        CALLER: (opus_packets(440, 1.0), 12345, 960),
        CALLED: (g711_packets(codec, 880, 1.0), 777, 160),
    }, seconds=3.0, lost={CALLED: (1.0, 1.4)})
    recorded = await recorder.stop()
    wav = recorded.tracks[CALLED].path
    assert wav.suffix == ".wav" and recorded.tracks[CALLED].silence_s == pytest.approx(0.4, abs=0.035)
    with av.open(str(wav)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == {"pcmu": "pcm_mulaw", "pcma": "pcm_alaw"}[codec] and stream.rate == 8000
        samples = sum(f.samples for f in container.decode(stream))
    # the call's 3 s, shifted by the first packet's network delay (the anchor: at most 30 ms here)
    assert 3 * 8000 <= samples <= 3 * 8000 + 240
    await render_call(recorded, paths.mixed)
    assert not wav.exists() and not recorded.tracks[CALLER].path.exists()  # tracks removed once rendered
    left, right = decode_stereo(paths.mixed)
    talk = slice(int(0.2 * RATE), int(0.9 * RATE))
    assert power_at(left[talk], 440) > 0.9 and power_at(right[talk], 880) > 0.9
    assert silent_run_around(right, 1.05, 1.35, rms(right[talk])) == pytest.approx(0.4, abs=0.03)


async def test_the_recorder_refuses_wrong_transitions_and_reports_write_failures(tmp_path: Path,
                                                                                  store: RecordingStore) -> None:
    paths = store.paths("acme", uuid.uuid4())
    recorder = CallRecorder(paths.tracks({CALLER: "opus", CALLED: "opus"}))
    recorder.on_packet("someone-else", b"\xf8\xff\xfe", 0)  # not a party of this recording: ignored
    with pytest.raises(RecordingError):
        recorder.resume()
    recorder.pause()
    with pytest.raises(RecordingError) as twice:
        recorder.pause()
    assert twice.value.code == "not_recording"
    recorded = await recorder.stop()
    assert all(info.packets == 0 for info in recorded.tracks.values())
    recorder.on_packet(CALLER, b"\xf8\xff\xfe", 0)  # after stop: ignored
    with pytest.raises(RecordingError):
        await recorder.stop()
    # a track that cannot be written: the tap never raises, stop() says why
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    broken = CallRecorder({CALLER: ("opus", blocker / "x.opus")}, batch_packets=2)
    for n in range(10):
        broken.on_packet(CALLER, opus_packets(440, 0.02)[0], n * 960)
    with pytest.raises(RecordingError) as failed:
        await broken.stop()
    assert failed.value.code == "write_failed"


async def test_render_of_a_silent_party_and_of_a_broken_track(store: RecordingStore, tmp_path: Path) -> None:
    paths = store.paths("acme", uuid.uuid4())
    clock = ManualClock()
    recorder = CallRecorder(paths.tracks({CALLER: "opus", CALLED: "opus"}), clock=clock)
    await tap_call(recorder, clock, {CALLER: (opus_packets(440, 1.0), 0, 960)}, seconds=1.0)
    left, right = decode_stereo((await render_call(await recorder.stop(), paths.mixed)).path)
    assert power_at(left[RATE // 5 : -RATE // 5], 440) > 0.9 and rms(right) < 1.0
    broken = tmp_path / "broken.opus"
    broken.write_bytes(b"OggS" + bytes(100))
    with pytest.raises(RenderError):
        await render_stereo(broken, None, tmp_path / "out.ogg")
    assert not (tmp_path / "out.ogg").exists() and not part_files(tmp_path)


def test_the_store_names_files_per_tenant_day_and_call(store: RecordingStore) -> None:
    call = uuid.UUID("12345678-1234-5678-1234-567812345678")
    paths = store.paths("acme", call.hex, dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2))))
    assert paths.relative == f"acme/2026/12/02/{call}.ogg"  # UTC
    assert paths.track(CALLER, "opus").name == f"{call}.caller.opus"
    assert paths.track(CALLED, "pcma").name == f"{call}.called.wav"
    for tenant, call_id in (("../etc", call), ("Acme", call), ("acme", "../../x"), ("acme", "")):
        with pytest.raises(ValueError):
            store.paths(tenant, call_id)
    with pytest.raises(ValueError):
        paths.track("../x", "opus")
    with pytest.raises(ValueError):
        store.resolve("../../etc/passwd")
    assert store.resolve(paths.relative) == paths.mixed.resolve()
    old = store.paths("acme", uuid.uuid4(), dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    for p in (old, paths):
        p.directory.mkdir(parents=True)
        p.mixed.write_bytes(b"x")
    assert store.prune(dt.date(2026, 6, 1)) == 1
    assert not old.mixed.exists() and paths.mixed.exists()


def test_opus_packet_durations_come_from_the_toc() -> None:
    assert opus_packet_samples(bytes([31 << 3])) == 960  # CELT 20 ms, one frame
    assert opus_packet_samples(bytes([(15 << 3) | 1, 0])) == 1920  # hybrid 20 ms, two frames
    assert opus_packet_samples(bytes([(3 << 3) | 3, 2])) == 5760  # SILK 60 ms x2
    assert opus_packet_samples(bytes([(16 << 3) | 3, 48])) == 5760  # CELT 2.5 ms x48
    assert opus_packet_samples(bytes([(16 << 3) | 3, 49])) == 0  # over 120 ms: not a packet
    assert opus_packet_samples(b"") == 0


async def test_the_tap_is_an_append(store: RecordingStore) -> None:
    """(Its cost per packet is measured by bench.scenarios; here: no I/O happens on the tap.)"""
    paths = store.paths("acme", uuid.uuid4())
    recorder = CallRecorder(paths.tracks({CALLER: "opus"}))
    payload = opus_packets(440, 0.02)[0]
    for n in range(49):
        recorder.on_packet(CALLER, payload, n * 960)
    assert not paths.directory.exists() and recorder.packets_tapped == 0  # still in memory
    recorder.on_packet(CALLER, payload, 49 * 960)  # the 50th: one batch to the writer thread
    assert recorder.packets_tapped == 50
    await recorder.stop()
    assert paths.track(CALLER, "opus").exists()
