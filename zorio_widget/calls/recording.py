"""A call's recording: both parties' packets stored while it lasts, one stereo file after it.

Asked for by the call's `options.recording` or the caller's extension `recording_default`
(`record_when_answered`: it starts when the call is answered, with both parties), by a party's
`call.record` (start, pause, resume, stop on a connected call) or by a scenario's `record()`. The
bridge taps each party's leg (`Bridge.add_tap`, which the native relay honours, so a recorded call
stays on the fast path): the caller's side is the left channel, the called party's the right (a
scenario's prompts are its side: the bridge taps them as it plays them). On the event loop packets
are only appended (`media.recording.CallRecorder`); when the recording stops (at `stop` or when the
call ends) the tracks are rendered into one stereo Ogg Opus file in a child process, the record gets
its `recording_file`, and `recording.ready` is announced (`events.call_event`: the webhooks app
queues it). Every change of state reaches both parties as `call.recording {state}`.
"""

import asyncio
import functools
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

from channels.db import database_sync_to_async
from django.db import transaction
from django.http import StreamingHttpResponse

from zorio_widget.calls.events import call_event
from zorio_widget.calls.models import CallRecord
from zorio_widget.calls.session import CallSession, Leg
from zorio_widget.calls.states import CallState
from zorio_widget.media.bridge import Tap
from zorio_widget.media.recording import (
    CALLED,
    CALLER,
    CallRecorder,
    RecordedCall,
    RecordingError,
    RecordingPaths,
    RecordingStore,
    RenderError,
    render_call,
)
from zorio_widget.protocol.messages import Frame, ProtocolError
from zorio_widget.tenants.models import Tenant

logger = logging.getLogger(__name__)

G711_CODECS = ("pcmu", "pcma")
ACTIONS = ("start", "pause", "resume", "stop")


def track_codec(leg: Leg) -> str:
    """What a party's track stores: its packets as they come (G.711 from a trunk leg, else Opus)."""
    codec = getattr(leg.media, "audio_codec", None)
    return codec if codec in G711_CODECS else "opus"


@database_sync_to_async
def _tenant_slug(tenant_id: int) -> str:
    return str(Tenant.objects.values_list("slug", flat=True).get(pk=tenant_id))


@database_sync_to_async
def _store_file(uuid: UUID, tenant_id: int, relative: str) -> None:
    with transaction.atomic():
        CallRecord.objects.filter(uuid=uuid).update(recording=True, recording_file=relative)
        call_event.send(CallRecord, uuid=uuid, tenant_id=tenant_id, event="recording.ready")


class CallRecording:
    """The recording of one call, from `start` to its file; one at a time per call."""

    def __init__(self, session: CallSession, paths: RecordingPaths, recorder: CallRecorder) -> None:
        self.session = session
        self.paths = paths
        self.recorder = recorder
        self._taps: list[tuple[Leg, Tap]] = []
        self._finished: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        "The stored file's relative name once rendered (None if rendering failed)."

    @property
    def state(self) -> str:
        """`recording`, `paused` or `stopped`."""
        return self.recorder.state

    @property
    def url(self) -> str:
        return recording_url(self.session.uuid)

    @classmethod
    async def start(cls, session: CallSession, req_id: str | None = None) -> "CallRecording":
        """Starts recording `session`'s parties now (the caller holds the call's lock); raises
        `RecordingError` (`already_recording`, `not_connected`)."""
        caller, callee = session.caller, session.callee
        if session.recording is not None and session.recording.state != "stopped":
            raise RecordingError("already_recording", "the call is already being recorded")
        if caller is None or callee is None:
            raise RecordingError("not_connected", "a recording needs both parties")
        slug = await _tenant_slug(session.tenant_id)
        paths = RecordingStore.from_settings().paths(slug, session.uuid)
        codecs = {CALLER: track_codec(caller), CALLED: track_codec(callee)}
        recording = cls(session, paths, CallRecorder(paths.tracks(codecs), name=str(session.uuid)))
        for party, leg in ((CALLER, caller), (CALLED, callee)):
            tap = functools.partial(recording.recorder.on_packet, party)
            session.bridge.add_tap(leg.media, tap)
            recording._taps.append((leg, tap))
        session.recording = recording
        session.when_ended(recording.finish)
        await recording.announce(req_id)
        return recording

    async def pause(self, req_id: str | None = None) -> None:
        """Stops storing: the time until `resume` becomes silence of that length, not a cut."""
        self.recorder.pause()
        await self.announce(req_id)

    async def resume(self, req_id: str | None = None) -> None:
        self.recorder.resume()
        await self.announce(req_id)

    async def stop(self, req_id: str | None = None) -> None:
        """Stops now (both parties told) and renders the file in the background (`finished`)."""
        recorded = await self._stop_recorder()
        await self.announce(req_id)
        if recorded is not None:
            self.session.board.spawn(self._render(recorded))

    async def finish(self) -> None:
        """The call ended: stop if still recording, and wait for the file."""
        if self.state != "stopped":
            recorded = await self._stop_recorder()
            if recorded is not None:
                await self._render(recorded)
        await asyncio.shield(self._finished)

    async def finished(self) -> str | None:
        """The stored file's name under `RECORDINGS_ROOT`, once rendered (None if it failed)."""
        return await asyncio.shield(self._finished)

    async def announce(self, req_id: str | None = None) -> None:
        """`call.recording {state}` to each party still in the call."""
        for leg in self.session.legs:
            await leg.send("call.recording", state=self.state, req_id=req_id)

    # -- internals ---------------------------------------------------------------------------------

    def _untap(self) -> None:
        taps, self._taps = self._taps, []
        for leg, tap in taps:
            self.session.bridge.remove_tap(leg.media, tap)

    async def _stop_recorder(self) -> RecordedCall | None:
        self._untap()
        try:
            return await self.recorder.stop()
        except RecordingError as exc:
            logger.error("call %s: recording failed: %s", self.session.uuid, exc)
            self._done(None)
            return None

    async def _render(self, recorded: RecordedCall) -> None:
        uuid = self.session.uuid
        stored: str | None = None
        try:
            result = await render_call(recorded, self.paths.mixed)
            await _store_file(uuid, self.session.tenant_id, self.paths.relative)
            stored = self.paths.relative
            logger.info("call %s: recording rendered (%.1f s in %.1f s)", uuid, result.duration_s, result.elapsed_s)
        except (RenderError, OSError) as exc:
            logger.error("call %s: recording failed: %s", uuid, exc)
        finally:
            self._done(stored)

    def _done(self, stored: str | None) -> None:
        if not self._finished.done():
            self._finished.set_result(stored)


def recording_url(uuid: UUID | str) -> str:
    """Where the recording of call `uuid` is served (`GET`, range requests; parties and the API key)."""
    return f"/api/webphone/calls/{uuid}/recording"


def record_when_answered(session: CallSession) -> None:
    """The call option or the extension's default asked for a recording: it starts at the answer."""

    async def start() -> None:
        try:
            await CallRecording.start(session)
        except RecordingError as exc:
            logger.warning("call %s: recording not started: %s", session.uuid, exc)

    session.when_answered(start)


async def record_request(session: CallSession, leg: Leg, frame: Frame) -> None:
    """`call.record {action}` from a party of a connected call (`switchboard.REQUESTS`)."""
    action, req_id = frame.data["action"], frame.req_id

    def refuse(message: str, code: str = "invalid_state") -> ProtocolError:
        return ProtocolError(code, message, req_id=req_id, call_id=leg.call_id)

    if action not in ACTIONS:
        raise refuse(f"'action' must be one of {', '.join(ACTIONS)}.", code="bad_request")
    if session.state != CallState.ANSWERED or session.peer_of(leg) is None:
        raise refuse("Only a connected call can be recorded.")
    recording = session.recording
    try:
        if action == "start":
            await CallRecording.start(session, req_id)
        elif not isinstance(recording, CallRecording) or recording.state == "stopped":
            raise refuse("The call is not being recorded.")
        elif action == "pause":
            await recording.pause(req_id)
        elif action == "resume":
            await recording.resume(req_id)
        else:
            await recording.stop(req_id)
    except RecordingError as exc:
        raise refuse(f"Cannot {action} the recording: {exc}") from exc


# -- serving the file (the REST API and the admin's player) ---------------------------------------

CHUNK_BYTES = 64 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class RecordingUnavailable(Exception):
    """The call has no rendered recording (none asked for, not rendered yet, or the file is gone)."""


class RangeNotSatisfiable(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"range outside {size} bytes")
        self.size = size


def recording_response(record: CallRecord, range_header: str | None) -> StreamingHttpResponse:
    """The record's stereo file as `audio/ogg`, whole (200) or one byte range (206); the caller has
    checked who may read it. The file is found through the record's stored name, inside the root."""
    if not record.recording_file:
        raise RecordingUnavailable("This call has no recording (yet: it is rendered once the call is over).")
    try:
        path = RecordingStore.from_settings().resolve(str(record.recording_file.name))
        size = path.stat().st_size
    except (ValueError, OSError) as exc:
        raise RecordingUnavailable("The recording file is missing.") from exc
    start, end = byte_range(range_header, size)
    response = StreamingHttpResponse(_chunks(path, start, end), content_type="audio/ogg",
                                     status=206 if range_header else 200)
    response["Accept-Ranges"] = "bytes"
    response["Content-Length"] = str(end - start + 1 if size else 0)
    if range_header:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Disposition"] = f'inline; filename="{record.uuid}.ogg"'
    response["Cache-Control"] = "private, no-store"
    return response


def byte_range(header: str | None, size: int) -> tuple[int, int]:
    """The inclusive byte range asked for (the whole file without `Range`); one range only, else
    `RangeNotSatisfiable`."""
    if header is None or size == 0:
        return 0, size - 1
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        raise RangeNotSatisfiable(size)
    first, last = match.group(1), match.group(2)
    if first == "":  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise RangeNotSatisfiable(size)
    return start, end


def _chunks(path: Path, start: int, end: int) -> Iterator[bytes]:
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start + 1
        while left > 0:
            data = f.read(min(CHUNK_BYTES, left))
            if not data:
                return
            left -= len(data)
            yield data
