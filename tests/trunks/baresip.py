"""baresip (a real SIP softphone) as the far phone of a trunk: auto-answer, a tone as its voice,
what it hears saved as WAV (its ``sndfile`` module), the DTMF it receives in its log.

Its configuration lives in a temporary directory (``baresip -f DIR``): G.711 only, ``aufile``
playing a tone WAV as the microphone, ``aubridge`` as a silent speaker, ``sndfile`` dumping the
decoded audio, one account whose user is the number we dial, ``answermode=auto``.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

from tests.sip.sipp import free_port

BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
MODULES = Path("/usr/lib/baresip/modules")


def write_tone_wav(path: Path, freq_hz: float, seconds: float, rate: int = 8000) -> None:
    n = int(rate * seconds)
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * freq_hz * np.arange(n) / rate)).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


class Baresip:
    def __init__(self, workdir: Path, user: str, tone_hz: float, rtp_ports: tuple[int, int]) -> None:
        self.dir = workdir / "baresip"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.user = user
        tone = self.dir / "tone.wav"
        write_tone_wav(tone, tone_hz, 60.0)
        (self.dir / "config").write_text("\n".join([
            f"sip_listen\t127.0.0.1:{self.port}",
            f"audio_source\taufile,{tone}",
            "audio_player\taubridge,speaker",
            "audio_alert\taubridge,alert",
            f"module_path\t{MODULES}",
            "module\tg711.so", "module\taufile.so", "module\taubridge.so", "module\tsndfile.so",
            "module_app\taccount.so", "module_app\tmenu.so",
            f"snd_path\t{self.dir}",
            f"rtp_ports\t{rtp_ports[0]}-{rtp_ports[1]}",
            "",
        ]))
        (self.dir / "accounts").write_text(f"<sip:{user}@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA\n")
        self.log_path = self.dir / "log.txt"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> Baresip:
        if shutil.which(BARESIP) is None:
            raise RuntimeError("baresip is not installed: apt-get install baresip (.ci/system-packages)")
        self.process = await asyncio.create_subprocess_exec(
            BARESIP, "-f", str(self.dir), "-v", stdin=subprocess.DEVNULL, stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT)
        for _ in range(100):
            if "baresip is ready" in self.log():
                return self
            await asyncio.sleep(0.05)
        raise RuntimeError(f"baresip did not start:\n{self.log()}")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def log(self) -> str:
        return self.log_path.read_bytes().replace(b"\0", b"").decode(errors="replace") if self.log_path.exists() else ""

    def received_digits(self) -> list[str]:
        """Digits baresip received (RFC 4733), once per key press: its ``received event: 'X' (end=1)``."""
        return [line.split("'")[1] for line in self.log().replace("\r", "\n").splitlines()
                if line.startswith("received event: ") and "end=1" in line]

    def heard(self) -> tuple[np.ndarray, int]:
        """What it decoded (its ``sndfile`` dump of the call), and the sample rate."""
        dumps = sorted(self.dir.glob("dump-*-dec.wav"))
        assert dumps, f"baresip saved no audio:\n{self.log()[-3000:]}"
        with wave.open(str(dumps[-1])) as dump:
            frames = dump.readframes(dump.getnframes())
            return np.frombuffer(frames, dtype=np.int16).astype(np.float64), dump.getframerate()
