"""Music-on-hold ships as a pre-encoded Ogg Opus file; the `music` clip is its packets, unencoded."""

import av
import numpy as np

from zorio_widget.media import clips
from zorio_widget.media.clips import holdmusic, library


def test_file_is_opus_in_20_ms_packets_with_real_music() -> None:
    with av.open(str(holdmusic.HOLD_MUSIC_PATH)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus" and stream.rate == 48000
        packets = [p for p in container.demux(stream) if p.size]
        # The demuxer trims pre-skip and end padding from the first and last durations only.
        assert {p.duration for p in packets[1:-1]} == {clips.FRAME_SAMPLES}
        # One 20 ms frame per packet (TOC: same config, frame-count code 0).
        assert {bytes(p)[0] for p in packets} == {bytes(packets[0])[0]}
        assert bytes(packets[0])[0] & 0x03 == 0
    with av.open(str(holdmusic.HOLD_MUSIC_PATH)) as container:
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]).astype(np.float64)
    assert len(pcm) / 48000 > 10  # a real loop, not a beep
    rms = np.sqrt(np.mean((pcm / (32768 if np.abs(pcm).max() > 2 else 1)) ** 2))
    assert rms > 0.02
    spectrum = np.abs(np.fft.rfft(pcm[: 48000 * 4]))
    strong = np.fft.rfftfreq(48000 * 4, 1 / 48000)[spectrum > spectrum.max() * 0.3]
    assert len({round(f / 20) for f in strong}) >= 3  # several notes, not one tone


def test_music_clip_is_the_file_demuxed_not_encoded() -> None:
    before = library.encode_count
    clip = clips.get_clip_blocking("music")
    assert clip.loop and clip.packets == holdmusic.load_packets()
    assert library.encode_count == before
