"""Call recording: each party's encoded packets stored during the call, one stereo file after it.

What the bridge and the call layer use::

    paths = RecordingStore.from_settings().paths(tenant_slug, call_uuid)   # under RECORDINGS_ROOT
    recorder = CallRecorder(paths.tracks({CALLER: "opus", CALLED: "pcmu"}), name=call_id)
    recorder.on_packet(CALLER, payload, rtp_timestamp)   # bridge: every received audio packet
    recorder.pause(); recorder.resume()                  # call.record pause/resume: silence, not a cut
    recorded = await recorder.stop()                     # tracks closed, padded to the call's length
    result = await render_call(recorded, paths.mixed)    # stereo Ogg Opus, caller left, called right

- ``on_packet`` appends to a list (no decoding, no I/O on the loop); batches go to one writer
  thread per process (``recorder.py``), which places packets by RTP timestamp and arrival,
  fills gaps with silence and writes Ogg Opus pages (``oggopus.py``) or G.711 WAV (``g711wav.py``).
- ``render_call``/``render_stereo`` decode and re-encode in a child process (``render.py``), 48 kbps
  stereo Opus by default (24 kbps at least), written under a temporary name then renamed.
- ``RecordingStore`` (``store.py``): ``<root>/<tenant>/<YYYY>/<MM>/<DD>/<uuid>.ogg``, names checked;
  ``prune(before)`` for retention.
"""

from .recorder import CALLED, CALLER, CallRecorder, RecordedCall, RecordingError
from .render import RenderError, RenderResult, render_call, render_stereo, render_stereo_blocking
from .store import RecordingPaths, RecordingStore
from .track import TrackInfo

__all__ = ["CALLED", "CALLER", "CallRecorder", "RecordedCall", "RecordingError", "RecordingPaths", "RecordingStore",
           "RenderError", "RenderResult", "TrackInfo", "render_call", "render_stereo", "render_stereo_blocking"]
