"""Recording asked for by the call option, the extension's default and `call.record`, with fake
devices and media (the real recorder, writer thread and render; tracks of silence): both parties
told every state, refusals leave the call as it was, the file lands on the record after the call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.calls.fakes import Phone, until
from zorio_widget.calls.models import CallRecord
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.protocol.messages import ProtocolError
from zorio_widget.tenants.models import Extension

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(autouse=True)
def recordings(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def states(phone: Phone, call_id: str) -> list[str]:
    return [f["state"] for f in phone.device.frames if f["type"] == "call.recording" and f["call_id"] == call_id]


async def connected(alice: Phone, bob: Phone, **options: object) -> tuple[str, str]:
    a = await alice.dial("1002", **options)
    b = bob.incoming()
    await bob.request("call.answer", b, sdp="answer")
    return a, b


async def file_of(board: Switchboard, call_id: str, uuid: object) -> CallRecord:
    await until(lambda: call_id not in board.legs)
    record = CallRecord.objects.filter(uuid=uuid)
    for _ in range(300):
        found = await record.afirst()
        if found is not None and found.recording_file:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("no recording file")


async def test_the_option_records_from_the_answer(board: Switchboard, fake_phone: Callable[[str], Phone],
                                                  recordings: Path) -> None:
    alice, bob = fake_phone("1001"), fake_phone("1002")
    a, b = await connected(alice, bob, recording=True)
    assert states(alice, a) == ["recording"] and states(bob, b) == ["recording"]
    uuid = board.legs[a].session.uuid
    await alice.request("call.hangup", a)
    record = await file_of(board, a, uuid)
    assert record.recording and (recordings / record.recording_file.name).stat().st_size > 0
    assert record.as_api()["recording_url"] == f"/api/webphone/calls/{uuid}/recording"


async def test_the_extensions_default_unless_the_option_says_no(
        board: Switchboard, fake_phone: Callable[[str], Phone], demo_extensions: dict[str, Extension]) -> None:
    await Extension.objects.filter(pk=demo_extensions["1001"].pk).aupdate(recording_default=True)
    alice, bob = fake_phone("1001"), fake_phone("1002")
    a, b = await connected(alice, bob)
    assert states(alice, a) == ["recording"]
    await alice.request("call.hangup", a)
    a, b = await connected(alice, bob, recording=False)
    assert states(alice, a) == [] and board.legs[a].session.recording is None
    await alice.request("call.hangup", a)


async def test_call_record_start_pause_resume_stop_and_refusals(board: Switchboard,
                                                                fake_phone: Callable[[str], Phone]) -> None:
    alice, bob = fake_phone("1001"), fake_phone("1002")
    a = await alice.dial("1002")
    with pytest.raises(ProtocolError) as refused:
        await alice.request("call.record", a, action="start")  # ringing: nothing to record yet
    assert refused.value.code == "invalid_state"
    b = bob.incoming()
    await bob.request("call.answer", b, sdp="answer")
    for action in ("pause", "stop"):
        with pytest.raises(ProtocolError) as refused:
            await alice.request("call.record", a, action=action)
        assert refused.value.code == "invalid_state"
    with pytest.raises(ProtocolError) as refused:
        await alice.request("call.record", a, action="rewind")
    assert refused.value.code == "bad_request"
    await bob.request("call.record", b, action="start")  # either party may
    await alice.request("call.record", a, action="pause")
    with pytest.raises(ProtocolError):
        await alice.request("call.record", a, action="pause")
    with pytest.raises(ProtocolError):
        await alice.request("call.record", a, action="start")  # already recording (paused)
    await alice.request("call.record", a, action="resume")
    uuid = board.legs[a].session.uuid
    await alice.request("call.record", a, action="stop")
    expected = ["recording", "paused", "recording", "stopped"]
    assert states(alice, a) == expected and states(bob, b) == expected
    record = await file_of(board, "never-a-leg", uuid)  # rendered while the call goes on
    assert record.recording_file
    assert board.legs[a].session.is_live
    await alice.request("call.hangup", a)
