"""Audio for client peers: a sine source and a probe measuring what arrives (energy, pitch),
and DTMF in both forms (Goertzel on the audio, RFC 4733 events through a receive tap)."""

import asyncio
import fractions
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import av
import numpy as np
from aiortc import RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

SAMPLE_RATE_HZ = 48000
FRAME_SAMPLES = 960  # 20 ms
PROBE_WINDOW_FRAMES = 25  # 0.5 s of audio for each measurement


class ToneTrack(MediaStreamTrack):
    """A microphone that says one sine frequency (or nothing), paced in real time."""

    kind = "audio"

    def __init__(self, frequency_hz: float | None, level: float = 0.3) -> None:
        super().__init__()
        self.frequency_hz = frequency_hz
        self.level = level
        self._pts = 0
        self._start: float | None = None
        self._queued = np.zeros(0, dtype=np.int16)

    def play_digits(self, digits: str) -> None:
        """Says `digits` as in-band DTMF (standard dual tones) instead of the sine, then resumes."""
        from zorio_widget.media.clips import dtmf_pcm

        self._queued = np.concatenate([self._queued, *(dtmf_pcm(d) for d in digits)])

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._pts / SAMPLE_RATE_HZ
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        t = (np.arange(FRAME_SAMPLES) + self._pts) / SAMPLE_RATE_HZ
        if self._queued.size:
            samples = np.zeros(FRAME_SAMPLES, dtype=np.int16)
            chunk, self._queued = self._queued[:FRAME_SAMPLES], self._queued[FRAME_SAMPLES:]
            samples[: chunk.size] = chunk
        elif self.frequency_hz:
            samples = (np.sin(2 * np.pi * self.frequency_hz * t) * self.level * 32767).astype(np.int16)
        else:
            samples = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE_HZ
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE_HZ)
        self._pts += FRAME_SAMPLES
        return frame


class AudioProbe:
    """Consumes a remote track and keeps the last half second of decoded audio."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self.track = track
        self.frames_received = 0
        self._recent: deque[np.ndarray] = deque(maxlen=PROBE_WINDOW_FRAMES)
        self.digits: list[str] = []
        "Digits found in the audio by `detect_dtmf()`."
        self.events: list[Any] = []
        "RFC 4733 packets (`aiortc_hook.ReceivedPacket`) seen since `watch_telephone_events()`."
        self.event_digits: list[str] = []
        "Digits of those events, once each."
        self._detector: Any = None
        self._resampler: av.AudioResampler | None = None
        self._task = asyncio.create_task(self._run(), name="audio-probe")

    async def _run(self) -> None:
        try:
            while True:
                frame = await self.track.recv()
                assert isinstance(frame, AudioFrame)
                pcm = self._pcm_48k(frame)
                if self._detector is not None:
                    self.digits += self._detector.feed(pcm.astype(np.int16))
                self._recent.append(pcm / 32768.0)
                self.frames_received += 1
        except (MediaStreamError, asyncio.CancelledError):
            return

    def _pcm_48k(self, frame: AudioFrame) -> np.ndarray:
        """Mono samples at 48 kHz: a G.711 call (a trunk's) decodes at 8 kHz, resampled here so
        every measurement reads one rate."""
        if frame.sample_rate != SAMPLE_RATE_HZ:
            if self._resampler is None:
                self._resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE_HZ)
            resampled = self._resampler.resample(frame)
            chunks = [f.to_ndarray().astype(np.float32).reshape(-1) for f in resampled]
            return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        pcm = frame.to_ndarray().astype(np.float32).reshape(-1)
        channels = len(frame.layout.channels)
        return pcm.reshape(-1, channels).mean(axis=1) if channels > 1 else pcm

    def watch_telephone_events(self, receiver: RTCRtpReceiver) -> None:
        """Collect the RFC 4733 events arriving on `receiver` (the same call's) in `self.events`
        (each packet) and `self.event_digits` (one digit per event); audio still reaches the probe.

        Needs telephone-event negotiated, i.e. `aiortc_hook.install()` in this process before the
        peer connection was negotiated (the codec registration is process-wide).
        """
        from zorio_widget.media import aiortc_hook
        from zorio_widget.media.dtmf import TelephoneEventReceiver

        events = TelephoneEventReceiver()

        def sink(packet: "aiortc_hook.ReceivedPacket") -> None:
            self.events.append(packet)
            self.event_digits.extend(events.feed(packet.payload, packet.timestamp))

        aiortc_hook.set_packet_sink(receiver, sink, telephone_events_only=True)

    def detect_dtmf(self) -> None:
        """From now on, run a Goertzel DTMF detector over what arrives (digits in `self.digits`)."""
        from zorio_widget.media.dtmf import GoertzelDetector

        self._detector = GoertzelDetector(SAMPLE_RATE_HZ)

    def keep_last(self, seconds: float) -> None:
        """Keep the last `seconds` of audio for `samples()` (half a second by default): enough to
        hold a whole prompt, or a recording's worth, for the analysis of what was heard."""
        self._recent = deque(self._recent, maxlen=max(1, round(seconds * SAMPLE_RATE_HZ / FRAME_SAMPLES)))

    def clear(self) -> None:
        """Forget what was heard so far."""
        self._recent.clear()

    def samples(self) -> np.ndarray:
        return np.concatenate(list(self._recent)) if self._recent else np.zeros(0, dtype=np.float32)

    def rms(self) -> float:
        pcm = self.samples()
        return float(np.sqrt(np.mean(pcm**2))) if pcm.size else 0.0

    def dominant_hz(self) -> float:
        pcm = self.samples()
        if pcm.size < 1024:
            return 0.0
        spectrum = np.abs(np.fft.rfft(pcm * np.hanning(pcm.size)))
        return float(np.fft.rfftfreq(pcm.size, 1 / SAMPLE_RATE_HZ)[int(np.argmax(spectrum[1:])) + 1])

    async def wait_for(self, predicate: "Callable[[AudioProbe], bool]", timeout_s: float = 8.0) -> bool:
        """Polls until `predicate(self)` holds (audio takes a moment to settle after a change)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            await asyncio.sleep(0.1)
        return predicate(self)

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def without_telephone_event(sdp: str, keep_rates: tuple[int, ...] = ()) -> str:
    """`sdp` without its telephone-event codecs (except those at `keep_rates`): a client that
    does not do RFC 4733, so the server must send it DTMF as in-band tones."""
    drop = {pt for pt, rate in re.findall(r"^a=rtpmap:(\d+) telephone-event/(\d+)", sdp, flags=re.M | re.I)
            if int(rate) not in keep_rates}
    if not drop:
        return sdp
    out = []
    for line in sdp.splitlines():
        if line.startswith("m=audio "):
            line = " ".join(f for i, f in enumerate(line.split()) if i < 3 or f not in drop)
        elif re.match(r"a=(?:rtpmap|fmtp|rtcp-fb):(\d+)[ ]", line) and line.split(":", 1)[1].split()[0] in drop:
            continue
        out.append(line)
    return "\r\n".join(out) + "\r\n"
