"""What the scenario media blocks cost: `python -m bench.scenarios`.

What a scenario or a recording costs, on the real code with real packets:

- a recorded call over a plain one: the relay's hot path (``bench.relay``: real SRTP, the native
  route) with and without the recording's taps on both legs, the writer thread's work included
  (process CPU), as a share of a core for one call (two parties at 50 packets/s);
- N concurrent IVR calls on a live server (``bench.ivrload``): its CPU, and the prompt's packet
  rate at every caller;

- the recording tap: microseconds per ``on_packet`` on the event loop, and the process CPU per
  packet for tap + writer thread (Ogg pages, files) together, as a share of a core for one call
  (two parties at 50 packets/s each);
- the render: wall time of ``render_call`` (the child process) and CPU of an in-thread render, per
  minute of recording;
- ``say()``: time to first audio (``Playback.ready``) cold (the engine runs), from the disk cache (a
  new Speaker, as after a restart) and from the memory cache;
- playback: decoding a one-minute mp3 to packets, and the first progress tone encoded.

Numbers vary about 2x between days on this VM (docs/MEDIA-NOTES.md): compare within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import functools
import io
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import av
import numpy as np

from bench import ivrload, relay
from zorio_widget.media.bridge import Bridge
from zorio_widget.media.leg import MediaLeg
from zorio_widget.media.native import routes as native_routes
from zorio_widget.media.playback.decode import decode_to_clip
from zorio_widget.media.playback.pcm import OpusFrameEncoder
from zorio_widget.media.recording import CALLED, CALLER, CallRecorder, RecordedCall, RecordingStore, render_call
from zorio_widget.media.recording.render import render_stereo_blocking
from zorio_widget.media.speech import EspeakEngine, PromptStore, Speaker
from zorio_widget.media.tones import load_tone

RATE = 48000
PACKETS_PER_S = 50


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def voice_like(seconds: float, seed: int) -> np.ndarray:
    """A signal with speech's texture for the encoder (noise shaped by a syllable envelope)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    carrier = np.sin(2 * np.pi * 180 * t) + 0.5 * rng.standard_normal(len(t))
    envelope = np.clip(np.sin(2 * np.pi * 3.3 * t), 0, None)
    return (carrier * envelope * 6000).astype(np.int16)


def encode(pcm: np.ndarray) -> list[bytes]:
    encoder = OpusFrameEncoder()
    encoder.feed(pcm)
    return list(encoder.finish())


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def bench_tap(folder: Path, seconds: float) -> tuple[dict[str, float], RecordedCall]:
    packets = {CALLER: encode(voice_like(2.0, 1)), CALLED: encode(voice_like(2.0, 2))}
    clock = Clock()
    paths = RecordingStore(folder).paths("bench", uuid.uuid4())
    recorder = CallRecorder(paths.tracks({CALLER: "opus", CALLED: "opus"}), clock=clock)
    frames = int(seconds * PACKETS_PER_S)
    cpu_before = cpu_s()
    on_loop: list[int] = []
    for n in range(frames):
        clock.now = n / PACKETS_PER_S
        started = time.perf_counter_ns()
        for party, stream in packets.items():
            recorder.on_packet(party, stream[n % len(stream)], n * 960, clock.now)
        on_loop.append(time.perf_counter_ns() - started)
        if n % 500 == 0:
            await asyncio.sleep(0)  # let finished writer jobs be reaped, as a loop would
    recorded = await recorder.stop()
    cpu = cpu_s() - cpu_before
    count = 2 * frames
    per_packet_us = cpu / count * 1e6
    # The median is the tap's own cost; the mean also holds the waits for the GIL while the writer
    # thread runs (a loop pays those too, at most one batch's write, ~0.2 ms, each second per call).
    return {"tap_us": statistics.median(on_loop) / 2 / 1000, "tap_mean_us": sum(on_loop) / count / 1000,
            "tap_and_writer_us": per_packet_us,
            "call_share_pct": per_packet_us * 2 * PACKETS_PER_S / 1e6 * 100,
            "recorded_s": recorded.duration_s}, recorded


async def bench_render(folder: Path, recorded: RecordedCall) -> dict[str, float]:
    minutes = recorded.duration_s / 60
    out = folder / "mixed.ogg"
    result = await render_call(recorded, out, keep_tracks=True)
    cpu_before = cpu_s()
    started = time.perf_counter()
    render_stereo_blocking(recorded.tracks[CALLER].path, recorded.tracks[CALLED].path, folder / "again.ogg",
                           recorded.duration_s)
    in_thread_wall = time.perf_counter() - started
    return {"render_wall_s_per_min": result.elapsed_s / minutes,
            "render_cpu_s_per_min": (cpu_s() - cpu_before) / minutes,
            "render_in_thread_wall_s_per_min": in_thread_wall / minutes,
            "mixed_kbps": out.stat().st_size * 8 / recorded.duration_s / 1000}


async def bench_say(folder: Path, rounds: int) -> dict[str, float]:
    texts = {
        "en": [f"Thank you for calling. Your position in the queue is {n}. Please hold." for n in range(rounds)],
        "vi": [f"Cảm ơn quý khách đã gọi. Quý khách đang ở vị trí số {n}." for n in range(rounds)],
    }
    store = PromptStore(folder / "tts")
    speaker = Speaker(EspeakEngine(), store=store)
    await speaker.prompt("warm up the engine's voice list", "en")
    results: dict[str, float] = {}
    for language, lines in texts.items():
        cold, disk, memory = [], [], []
        for text in lines:
            started = time.perf_counter()
            await speaker.say(text, language).ready()
            cold.append(time.perf_counter() - started)
        restarted = Speaker(EspeakEngine(), store=store)
        await restarted.prompt("warm up the engine's voice list", language)
        for text in lines:
            started = time.perf_counter()
            await restarted.say(text, language).ready()
            disk.append(time.perf_counter() - started)
        for text in lines:
            started = time.perf_counter()
            playback = restarted.say(text, language)
            assert playback.next_payload() is not None
            memory.append(time.perf_counter() - started)
        results[f"say_{language}_cold_ms"] = statistics.median(cold) * 1000
        results[f"say_{language}_disk_ms"] = statistics.median(disk) * 1000
        results[f"say_{language}_memory_ms"] = statistics.median(memory) * 1000
    return results


def mp3_minute() -> bytes:
    out = io.BytesIO()
    pcm = voice_like(60.0, 3)
    with av.open(out, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=RATE, layout="mono")
        resampler = av.AudioResampler(format="s16p", layout="mono", rate=RATE)
        for start in range(0, len(pcm), 1152):
            frame = av.AudioFrame.from_ndarray(pcm[start : start + 1152].reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = RATE, start, fractions.Fraction(1, RATE)
            for converted in resampler.resample(frame):
                container.mux(stream.encode(converted))
        container.mux(stream.encode(None))
    return out.getvalue()


async def bench_playback() -> dict[str, float]:
    data = mp3_minute()
    started = time.perf_counter()
    await asyncio.to_thread(decode_to_clip, "bench.mp3", data, 900)
    decode_s = time.perf_counter() - started
    started = time.perf_counter()
    await load_tone("GB", "congestion")
    return {"mp3_decode_s_per_min": decode_s, "tone_first_encode_ms": (time.perf_counter() - started) * 1000}


async def bench_recorded_relay(folder: Path, packets: int, rounds: int) -> dict[str, float]:
    """µs of process CPU per relayed packet, plain and with both legs tapped by a recorder."""
    natively: list[int] = []

    async def record(bridge: Bridge, leg_a: MediaLeg, leg_b: MediaLeg) -> Callable[[], Awaitable[None]]:
        recorder = CallRecorder(RecordingStore(folder).paths("bench", uuid.uuid4()).tracks(
            {CALLER: "opus", CALLED: "opus"}))
        bridge.add_tap(leg_a, functools.partial(recorder.on_packet, CALLER))
        bridge.add_tap(leg_b, functools.partial(recorder.on_packet, CALLED))

        async def finish() -> None:
            natively.append(native_routes.counters(leg_a)["relayed"])
            await recorder.stop()  # the writer thread's pages and the files, inside the measured time

        return finish

    plain = min([(await relay.measure(packets))[0] for _ in range(rounds)])
    recorded = min([(await relay.measure(packets, record))[0] for _ in range(rounds)])
    return {"plain_us": plain, "recorded_us": recorded, "natively": min(natively) / packets,
            "extra_call_pct": (recorded - plain) * 2 * PACKETS_PER_S / 1e6 * 100}


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-scenarios-") as tmp:
        folder = Path(tmp)
        recorded_relay = await bench_recorded_relay(folder, args.relay_packets, args.relay_rounds)
        ivr = await ivrload.measure(args.ivr_calls, args.ivr_seconds) if args.ivr_calls else None
        ivr_events = await ivrload.measure(args.ivr_calls, args.ivr_seconds, inband=False) if args.ivr_calls else None
        tap, recorded = await bench_tap(folder, args.record_seconds)
        render = await bench_render(folder, recorded)
        say = await bench_say(folder, args.say_rounds)
        playback = await bench_playback()
    print(f"bench.scenarios ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), "
          f"recording of {tap['recorded_s']:.0f} s, {args.say_rounds} texts per language")
    rows = [
        ("relay hot path, plain / recorded (native)", f"{recorded_relay['plain_us']:.1f} / "
                                                       f"{recorded_relay['recorded_us']:.1f} µs / packet"),
        ("  recorded packets that stayed native", f"{recorded_relay['natively'] * 100:.0f}%"),
        ("  = a recorded call over a plain one", f"+{recorded_relay['extra_call_pct']:.3f}% of a core "
                                                 "(target <= +0.2%)"),
        *(row for load, digits in ((ivr, "in-band and RFC 4733 digits"), (ivr_events, "RFC 4733 digits only"))
          if load is not None for row in (
              (f"{load.calls} concurrent IVR calls ({digits}): server CPU",
               f"{load.server_cpu_pct:.1f}% of a core ({load.server_cpu_pct / load.calls:.2f}% per call)"),
              ("  prompt at the callers: min / median",
               f"{load.packets_per_s_min:.1f} / {load.packets_per_s_median:.1f} packets/s ({load.answered} "
               f"answered, setup median {load.setup_ms_median:.0f} ms)"))),
        ("recording tap, on the loop: median / mean", f"{tap['tap_us']:.2f} / {tap['tap_mean_us']:.2f} µs / packet"),
        ("recording tap + writer thread (process CPU)", f"{tap['tap_and_writer_us']:.1f} µs / packet"),
        ("  = one recorded call (2 x 50 packets/s)", f"{tap['call_share_pct']:.3f}% of a core"),
        ("render_call (child process), wall", f"{render['render_wall_s_per_min']:.2f} s / min of recording"),
        ("render in a thread, wall / CPU", f"{render['render_in_thread_wall_s_per_min']:.2f} / "
                                           f"{render['render_cpu_s_per_min']:.2f} s / min"),
        ("rendered file bitrate", f"{render['mixed_kbps']:.1f} kbit/s (stereo Opus)"),
        *((f"say() {lang} to first audio: cold / disk cache / memory cache",
           f"{say[f'say_{lang}_cold_ms']:.0f} / {say[f'say_{lang}_disk_ms']:.1f} / "
           f"{say[f'say_{lang}_memory_ms']:.2f} ms (median)") for lang in ("en", "vi")),
        ("mp3 decode + Opus encode (playback)", f"{playback['mp3_decode_s_per_min']:.2f} s / min of audio"),
        ("first GB congestion tone encode", f"{playback['tone_first_encode_ms']:.0f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record-seconds", type=float, default=120.0, help="length of the synthetic recording")
    parser.add_argument("--say-rounds", type=int, default=5, help="texts per language")
    parser.add_argument("--relay-packets", type=int, default=20000, help="packets per relay measurement")
    parser.add_argument("--relay-rounds", type=int, default=3, help="relay measurements (the best is kept)")
    parser.add_argument("--ivr-calls", type=int, default=40, help="concurrent IVR calls (0: skip)")
    parser.add_argument("--ivr-seconds", type=float, default=15.0, help="the IVR measurement window")
    asyncio.run(main(parser.parse_args()))
