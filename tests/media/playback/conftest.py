"""Real audio files made here with PyAV, and a real local HTTP server (http.server in a thread)
that answers with ETags and 304s, standing in for a partner's file server."""

from __future__ import annotations

import fractions
import hashlib
import http.server
import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import av
import numpy as np
import pytest

SECONDS = 1.0


def sine(freq_hz: float, seconds: float = SECONDS, rate: int = 44100, level: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq_hz * t) * level * 32767).astype(np.int16)


# container format -> (codec, sample format, layout, sample rate); FFmpeg's own Vorbis encoder
# only writes stereo.
FORMATS = {
    "wav": ("pcm_s16le", "s16", "mono", 44100),
    "mp3": ("libmp3lame", "s16p", "mono", 44100),
    "ogg": ("vorbis", "fltp", "stereo", 44100),
    "flac": ("flac", "s16", "mono", 22050),
}


def encode_file(fmt: str, freq_hz: float, seconds: float = SECONDS) -> bytes:
    """A file of ``fmt`` holding a sine, encoded by FFmpeg through PyAV."""
    codec, sample_format, layout, rate = FORMATS[fmt]
    pcm = sine(freq_hz, seconds, rate)
    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        if codec == "vorbis":
            stream.codec_context.options = {"strict": "experimental"}
        resampler = av.AudioResampler(format=sample_format, layout=layout, rate=rate)
        for start in range(0, len(pcm), 1024):
            frame = av.AudioFrame.from_ndarray(pcm[start : start + 1024].reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = fractions.Fraction(1, rate)
            for converted in resampler.resample(frame):
                container.mux(stream.encode(converted))
        for converted in resampler.resample(None):
            container.mux(stream.encode(converted))
        container.mux(stream.encode(None))
    return out.getvalue()


@dataclass
class Resource:
    body: bytes
    etag: str | None = None
    mode: str = "length"
    "``length`` (Content-Length), ``chunked``, ``close`` (no length), ``slow``, ``redirect``."
    status: int = 200
    location: str = ""


@dataclass
class FileServer:
    """What the server serves (mutable between requests) and what it saw."""

    base: str = ""
    resources: dict[str, Resource] = field(default_factory=dict)
    requests: list[tuple[str, str | None, int]] = field(default_factory=list)
    "(path, If-None-Match sent, status answered)."

    def put(self, path: str, body: bytes, etag: bool = True, **kwargs: object) -> str:
        tag = f'"{hashlib.sha1(body).hexdigest()[:16]}"' if etag else None
        self.resources[path] = Resource(body, tag, **kwargs)  # type: ignore[arg-type]
        return self.base + path

    def statuses(self, path: str) -> list[int]:
        return [status for p, _inm, status in self.requests if p == path]


class _Handler(http.server.BaseHTTPRequestHandler):
    server_state: FileServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        state = self.server.state  # type: ignore[attr-defined]
        resource = state.resources.get(self.path)
        inm = self.headers.get("If-None-Match")
        if resource is None:
            state.requests.append((self.path, inm, 404))
            self.send_error(404)
            return
        if resource.mode == "redirect":
            state.requests.append((self.path, inm, 302))
            self.send_response(302)
            self.send_header("Location", resource.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if resource.etag and inm == resource.etag:
            state.requests.append((self.path, inm, 304))
            self.send_response(304)
            self.send_header("ETag", resource.etag)
            self.end_headers()
            return
        state.requests.append((self.path, inm, resource.status))
        if resource.mode == "slow":
            time.sleep(3)
        self.send_response(resource.status)
        self.send_header("Content-Type", "audio/mpeg")
        if resource.etag:
            self.send_header("ETag", resource.etag)
        if resource.mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(resource.body), 65536):
                chunk = resource.body[start : start + 65536]
                try:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    return
            self.wfile.write(b"0\r\n\r\n")
            return
        if resource.mode != "close":
            self.send_header("Content-Length", str(len(resource.body)))
        self.end_headers()
        try:
            self.wfile.write(resource.body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    state = FileServer()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.state = state  # type: ignore[attr-defined]
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="test-file-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
