"""Rendering a recording that lasted less than one 20 ms frame (a call hung up right at the answer):
its tracks hold no Ogg page yet, and the file is still made (one silent stereo frame)."""

from __future__ import annotations

import uuid
from pathlib import Path

import av

from zorio_widget.media.recording import CALLED, CALLER, CallRecorder, RecordingStore, render_call


async def test_a_recording_of_no_time_renders_a_silent_file(tmp_path: Path) -> None:
    paths = RecordingStore(tmp_path).paths("acme", uuid.uuid4())
    recorded = await CallRecorder(paths.tracks({CALLER: "opus", CALLED: "pcmu"})).stop()
    result = await render_call(recorded, paths.mixed)
    assert result.path == paths.mixed and paths.mixed.exists()
    with av.open(str(paths.mixed)) as container:
        assert container.streams.audio[0].codec_context.channels == 2
        assert sum(frame.samples for frame in container.decode(audio=0)) > 0
    assert not any(info.path.exists() for info in recorded.tracks.values())  # the tracks are removed
