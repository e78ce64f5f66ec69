"""Text-to-speech with the real espeak-ng: what say() plays, decoded back from its Opus packets,
is speech (energy spread over the voice bands and changing over time, not a tone) in English and
Vietnamese; limits and engine failures end the playback with a code; prompts are cached in
memory and on disk; the engine choice refuses what is not configured."""

from __future__ import annotations

import asyncio
import json
import stat
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.media.spectrum import envelope
from zorio_widget.media.playback import PlaybackResult
from zorio_widget.media.playback.pcm import decode_opus, pcm_to_clip
from zorio_widget.media.speech import (
    MAX_TEXT_CHARS,
    EspeakEngine,
    PiperEngine,
    PromptStore,
    Speaker,
    SpeechAudio,
    SpeechError,
)
from zorio_widget.media.speech.config import load_engine
from zorio_widget.media.speech.engine import run_program
from zorio_widget.media.speech.speaker import clean_text

RATE = 48000
BANDS_HZ = ((100, 500), (500, 1000), (1000, 2000), (2000, 4000))
PROMPTS = {
    "en": "Welcome to Zorio. Press one for sales, two for support, or stay on the line.",
    "vi": "Xin chào quý khách. Vui lòng bấm phím một để gặp bộ phận bán hàng.",
}


def assert_speech(m: dict[str, float]) -> None:
    assert 2.0 < m["seconds"] < 15, m
    for lo, hi in BANDS_HZ:
        assert m[f"band_{lo}_{hi}"] > 0.005, m  # energy in every band of the voice
    assert m["peak_share"] < 0.2, m  # no dominant tone
    assert m["envelope_cv"] > 0.3 and m["silent_share"] > 0.03, m  # syllables and pauses
    assert m["centroid_spread_hz"] > 300, m  # the spectrum moves: vowels, consonants


def speech_measures(pcm: np.ndarray) -> dict[str, float]:
    x = pcm.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    total = spectrum[(freqs >= 100) & (freqs < 4000)].sum()
    shares = {f"band_{lo}_{hi}": spectrum[(freqs >= lo) & (freqs < hi)].sum() / total for lo, hi in BANDS_HZ}
    # a tone puts nearly everything in a few bins; speech spreads it
    peak = np.sort(spectrum)[-20:].sum() / spectrum.sum()
    env = envelope(x, 0.02)
    loud = env[env > env.max() * 0.05]
    # spectral centroid per 50 ms: voiced vowels and fricatives move it a lot
    frames = x[: len(x) // 2400 * 2400].reshape(-1, 2400)
    frame_spectra = np.abs(np.fft.rfft(frames * np.hanning(2400), axis=1))
    energetic = frames.std(axis=1) > env.max() * 0.1
    f = np.fft.rfftfreq(2400, 1 / RATE)
    centroids = (frame_spectra[energetic] * f).sum(axis=1) / frame_spectra[energetic].sum(axis=1)
    return {**shares, "peak_share": peak, "envelope_cv": float(loud.std() / loud.mean()),
            "centroid_spread_hz": float(np.percentile(centroids, 90) - np.percentile(centroids, 10)),
            "silent_share": float((env < env.max() * 0.05).mean()), "seconds": len(x) / RATE}


@pytest.fixture
def speaker(tmp_path: Path) -> Speaker:
    return Speaker(EspeakEngine(), store=PromptStore(tmp_path / "tts"))


@pytest.mark.parametrize("language", ["en", "vi"])
async def test_say_plays_speech_in_each_language(speaker: Speaker, language: str) -> None:
    finished: list[PlaybackResult] = []
    playback = speaker.say(PROMPTS[language], language, on_finished=finished.append)
    await asyncio.wait_for(playback.ready(), 30)
    payloads = []
    while (payload := playback.next_payload()) is not None:
        payloads.append(payload)
    result = await playback.wait()
    await asyncio.sleep(0)
    assert finished == [result] and result.error is None and result.name == f"say:{language}"
    assert_speech(speech_measures(decode_opus(payloads)))


def test_the_speech_check_rejects_a_cadenced_tone_and_steady_noise() -> None:
    t = np.arange(RATE * 3) / RATE
    tone = (np.sin(2 * np.pi * 440 * t) * 8000 * (t % 1 < 0.7)).astype(np.int16)
    noise = (np.random.default_rng(1).standard_normal(RATE * 3) * 3000).astype(np.int16)
    for pcm in (tone, noise):
        with pytest.raises(AssertionError):
            assert_speech(speech_measures(decode_opus(pcm_to_clip("x", pcm).packets)))


async def test_english_and_vietnamese_are_different_voices(speaker: Speaker) -> None:
    en = await speaker.prompt("một hai ba", "en")
    vi = await speaker.prompt("một hai ba", "vi")
    assert en.packets != vi.packets
    engine = EspeakEngine()
    assert await engine.voice_for("vi") == "vi" and await engine.voice_for("en-US") == "en-us"
    assert await engine.voice_for("en") == "en-gb"  # espeak-ng's own first choice for plain "en"


async def test_cached_prompts_start_at_once_from_memory_and_from_disk(speaker: Speaker, tmp_path: Path) -> None:
    text = PROMPTS["en"]
    cold = time.perf_counter()
    first = await speaker.prompt(text, "en")
    cold_s = time.perf_counter() - cold
    started = time.perf_counter()
    playback = speaker.say(text, "en")
    assert playback.state == "playing" and playback.next_payload() == first.packets[0]  # no await at all
    assert time.perf_counter() - started < 0.05 and speaker.synthesized == 1
    # a new process (new speaker) reads the disk store: no synthesis
    other = Speaker(EspeakEngine(), store=PromptStore(tmp_path / "tts"))
    started = time.perf_counter()
    again = other.say(text, "en")
    await asyncio.wait_for(again.ready(), 10)
    disk_s = time.perf_counter() - started
    assert again.next_payload() == first.packets[0] and other.synthesized == 0 and other.from_disk == 1
    assert disk_s < cold_s  # (measured in bench.scenarios; here only its order)
    # equal texts asked at once are synthesised once
    third = Speaker(EspeakEngine())
    clips = await asyncio.gather(*(third.prompt("Same words, once.", "en") for _ in range(4)))
    assert third.synthesized == 1 and all(c is clips[0] for c in clips)


async def test_limits_and_failures_end_the_playback_with_a_code(speaker: Speaker) -> None:
    async def code_of(text: object, language: str = "en") -> str:
        finished: list[PlaybackResult] = []
        playback = speaker.say(text, language, on_finished=finished.append)  # type: ignore[arg-type]
        result = await asyncio.wait_for(playback.wait(), 30)
        await asyncio.sleep(0)
        assert finished == [result] and playback.next_payload() is None and result.played_s == 0
        assert isinstance(result.error, SpeechError)
        return result.error.code

    assert await code_of("x" * (MAX_TEXT_CHARS + 1)) == "text_too_long"
    assert await code_of("   \x00\x07 ") == "empty_text"
    assert await code_of(42) == "empty_text"
    assert await code_of("hello", "xx-nope") == "unknown_language"
    assert await code_of("hello", "--help") == "unknown_language"
    assert clean_text("a" * MAX_TEXT_CHARS) == "a" * MAX_TEXT_CHARS
    assert clean_text("line one\nline\x00two") == "line one\nline two"
    assert speaker.synthesized == 0


async def test_engine_programs_fail_with_engine_failed_and_are_reaped() -> None:
    with pytest.raises(SpeechError) as failed:
        await run_program([sys.executable, "-c", "import sys; sys.stderr.write('voice broken'); sys.exit(3)"], b"")
    assert failed.value.code == "engine_failed" and "voice broken" in failed.value.message
    started = time.monotonic()
    with pytest.raises(SpeechError) as slow:
        await run_program(["sleep", "30"], b"", timeout_s=0.3)
    assert slow.value.code == "engine_failed" and time.monotonic() - started < 5
    with pytest.raises(SpeechError) as missing:
        await run_program(["/nonexistent/espeak"], b"")
    assert missing.value.code == "engine_failed"
    with pytest.raises(SpeechError):
        await run_program([sys.executable, "-c", "import sys; sys.stdout.write('x' * 5000)"], b"", max_output=1000)


class ToneEngine:
    """An admin's own engine (TTS_ENGINE=pkg.module:factory), here a test double of the interface."""

    async def identity(self) -> str:
        return "tone-engine|1"

    async def voice_for(self, language: str) -> str:
        return language

    async def synthesize(self, text: str, voice: str) -> SpeechAudio:
        t = np.arange(16000) / 16000
        return SpeechAudio((np.sin(2 * np.pi * 500 * t) * 8000).astype(np.int16), 16000)


def make_tone_engine() -> ToneEngine:
    return ToneEngine()


def not_an_engine() -> object:
    return object()


async def test_tts_engine_setting_selects_builds_or_refuses(tmp_path: Path) -> None:
    assert isinstance(load_engine("espeak-ng"), EspeakEngine)
    custom = load_engine(f"{__name__}:make_tone_engine")
    clip = await Speaker(custom).prompt("anything", "en")
    assert 1.0 <= clip.duration_s <= 1.1
    for name in (f"{__name__}:not_an_engine", "no.such.module:factory", "nonsense"):
        with pytest.raises(SpeechError) as refused:
            load_engine(name)
        assert refused.value.code == "engine_not_configured", name
    with pytest.raises(SpeechError) as no_espeak:
        EspeakEngine("/nonexistent/espeak-ng")
    assert no_espeak.value.code == "engine_not_configured"


def write_piper_stand_in(folder: Path) -> tuple[Path, Path]:
    """An executable honouring piper's CLI (``--model M --output_raw``, text on stdin, raw s16 out),
    standing in for the admin's download; and a voice file with its JSON."""
    program = folder / "piper"
    program.write_text(
        f"#!{sys.executable}\n"
        "import sys, json, math, struct\n"
        "args = sys.argv[1:]\n"
        "assert args[0] == '--model' and args[2] == '--output_raw', args\n"
        "rate = json.load(open(args[1] + '.json'))['audio']['sample_rate']\n"
        "text = sys.stdin.read()\n"
        "n = int(rate * 0.1 * len(text.split()))\n"
        "sys.stdout.buffer.write(struct.pack('<%dh' % n, *(int(8000 * math.sin(i / 7)) for i in range(n))))\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    model = folder / "vi_VN-test.onnx"
    model.write_bytes(b"onnx")
    (folder / "vi_VN-test.onnx.json").write_text(json.dumps({"audio": {"sample_rate": 22050}}))
    return program, model


async def test_piper_is_refused_until_configured_then_runs_its_program(tmp_path: Path) -> None:
    program, model = write_piper_stand_in(tmp_path)
    for binary, voices, needle in [
        ("", [f"vi={model}"], "TTS_PIPER_BINARY"),
        (str(tmp_path / "missing"), [f"vi={model}"], "not an executable"),
        (str(program), [], "TTS_PIPER_VOICES"),
        (str(program), [f"vi={tmp_path / 'none.onnx'}"], "missing"),
        (str(program), ["vi"], "language=/path.onnx"),
    ]:
        with pytest.raises(SpeechError) as refused:
            load_engine("piper", piper_binary=binary, piper_voices=voices)
        assert refused.value.code == "engine_not_configured" and needle in refused.value.message
    engine = load_engine("piper", piper_binary=str(program), piper_voices=[f"vi={model}"])
    assert isinstance(engine, PiperEngine)
    audio = await engine.synthesize("một hai ba bốn", await engine.voice_for("vi-VN"))
    assert audio.sample_rate == 22050 and len(audio.samples) == int(22050 * 0.1 * 4)
    with pytest.raises(SpeechError) as unknown:
        await engine.voice_for("en")
    assert unknown.value.code == "unknown_language"


async def test_synthesis_does_not_block_the_event_loop(tmp_path: Path) -> None:
    speaker = Speaker(EspeakEngine())
    loop = asyncio.get_running_loop()
    gaps: list[float] = []

    async def ticker() -> None:
        last = loop.time()
        while True:
            await asyncio.sleep(0.005)
            now = loop.time()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await speaker.prompt(PROMPTS["en"] * 3, "en")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert gaps and max(gaps) < 0.3, max(gaps)  # encoding this in the loop would stop it for ~1 s


async def test_the_speaker_of_the_settings(settings, tmp_path: Path) -> None:
    settings.TTS_ENGINE, settings.TTS_CACHE_DIR = "espeak-ng", str(tmp_path / "cache")
    speaker = Speaker.from_settings()
    await speaker.prompt("Settings work.", "en")
    assert speaker.synthesized == 1 and list((tmp_path / "cache").glob("*/*.zpk"))
    settings.TTS_ENGINE, settings.TTS_PIPER_BINARY = "piper", ""
    result = await Speaker.from_settings().say("Hello", "en").wait()
    assert result.error is not None and result.error.code == "engine_not_configured"
