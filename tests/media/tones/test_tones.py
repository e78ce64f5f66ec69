"""Progress tones decoded back from their Opus packets: energy at the plan's frequencies only, and
the plan's cadence (measured over three passes of the loop, so the seam is checked too)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.media.spectrum import on_off_runs, power_at, smoothed_power
from zorio_widget.media.playback.pcm import decode_opus
from zorio_widget.media.tones import COUNTRIES, KINDS, ToneError, load_tone, plan_for, progress_tone, tone_clip_blocking

RATE = 48000
TOLERANCE_S = 0.02


def decoded_loop(country: str, kind: str, passes: int = 3) -> np.ndarray:
    clip = tone_clip_blocking(country, kind)
    assert clip.loop
    return decode_opus(list(clip.packets) * passes).astype(np.float64)


def longest_burst(pcm: np.ndarray) -> np.ndarray:
    """The samples of the longest sounding stretch, 10 ms fades left out."""
    power = smoothed_power(pcm, 0.005)
    on = np.concatenate([[False], power > 0.5 * np.percentile(power, 95), [False]])
    edges = np.flatnonzero(np.diff(on.astype(int)))
    starts, ends = edges[::2], edges[1::2]
    longest = int(np.argmax(ends - starts))
    block = int(0.005 * RATE)
    return pcm[(starts[longest] + 2) * block : (ends[longest] - 2) * block]


def measured_cadence(pcm: np.ndarray) -> list[tuple[bool, float]]:
    """Complete runs only (the first and last may be cut by the window)."""
    return on_off_runs(pcm, 0.005)[1:-1]


def assert_cadence(runs: list[tuple[bool, float]], cadence: tuple[float, ...]) -> None:
    """``runs`` are ``cadence`` repeated, starting anywhere in it."""
    assert len(runs) >= len(cadence), runs
    for phase in range(len(cadence)):
        expected = [((phase + i) % 2 == 0, cadence[(phase + i) % len(cadence)]) for i in range(len(runs))]
        if all(on == e_on and abs(s - e_s) <= TOLERANCE_S for (on, s), (e_on, e_s) in zip(runs, expected, strict=True)):
            return
    raise AssertionError(f"runs {[(on, round(s, 3)) for on, s in runs]} are not the cadence {cadence}")


@pytest.mark.parametrize("country", COUNTRIES)
@pytest.mark.parametrize("kind", KINDS)
def test_each_tone_has_its_frequencies_and_its_cadence(country: str, kind: str) -> None:
    plan = plan_for(country, kind)
    pcm = decoded_loop(country, kind)
    shares = [power_at(longest_burst(pcm), f) for f in plan.frequencies_hz]
    assert sum(shares) > 0.9, (shares, plan)  # nothing but the plan's frequencies
    assert min(shares) > 0.8 / len(shares) / 2, (shares, plan)  # and each of them
    runs = measured_cadence(pcm)
    if plan.cadence_s:
        assert_cadence(runs, plan.cadence_s)
    else:
        # (a decoder started on a mid-stream packet needs a few frames to reach the level)
        silent_s = sum(seconds for on, seconds in on_off_runs(pcm[RATE // 10 :]) if not on)
        assert silent_s <= 0.03, "a continuous tone never stops (only the window's edge may look silent)"


# The ringback cadences, written out independently of the table (ITU-T E.180's list).
RINGBACK = {
    "US": ((440, 480), (2.0, 4.0)),
    "GB": ((400, 450), (0.4, 0.2, 0.4, 2.0)),
    "RU": ((425,), (1.0, 4.0)),
    "VN": ((425,), (1.0, 4.0)),
}


@pytest.mark.parametrize("country", sorted(RINGBACK))
def test_ringback_is_the_national_one(country: str) -> None:
    frequencies, cadence = RINGBACK[country]
    pcm = decoded_loop(country, "ringback", passes=2)
    assert_cadence(measured_cadence(pcm), cadence)
    assert sum(power_at(longest_burst(pcm), f) for f in frequencies) > 0.9


async def test_progress_tone_loops_until_stopped_and_unknown_tones_are_refused() -> None:
    playback = progress_tone("vn")
    await playback.ready()
    clip = await load_tone("VN", "ringback")
    pulled = [playback.next_payload() for _ in range(len(clip.packets) + 5)]
    assert pulled[len(clip.packets)] == clip.packets[0] and playback.state == "playing"
    playback.stop()
    assert (await playback.wait()).stopped
    assert progress_tone("UK", "reorder").name == "tone:GB:congestion"
    for country, kind in (("FR", "ringback"), ("US", "howler"), (None, "busy")):
        with pytest.raises(ToneError) as refused:
            progress_tone(country, kind)  # type: ignore[arg-type]
        assert refused.value.code == "unknown_tone"
