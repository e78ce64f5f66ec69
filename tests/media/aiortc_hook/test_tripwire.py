"""The upgrade tripwire (``aiortc_hook.tripwire``): these fail first on an aiortc upgrade."""

from __future__ import annotations

import aiortc
import pytest
from aiortc.codecs import CODECS
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket

from zorio_widget.media import aiortc_hook
from zorio_widget.media.aiortc_hook import AiortcInternalsChanged, send, verify_aiortc_internals

pytestmark = pytest.mark.timeout(15)


def test_pinned_version_and_requirements_agree() -> None:
    from pathlib import Path

    import aioice

    pins = dict(
        line.split("==", 1)
        for line in (Path(__file__).parents[3] / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert aiortc.__version__ == aiortc_hook.AIORTC_VERSION == pins["aiortc"]
    assert aioice.__version__ == aiortc_hook.AIOICE_VERSION == pins["aioice"]
    verify_aiortc_internals()


def test_verify_reports_a_different_aioice(monkeypatch: pytest.MonkeyPatch) -> None:
    import aioice

    monkeypatch.setattr(aioice, "__version__", "0.14.0")
    with pytest.raises(AiortcInternalsChanged, match="aioice 0.14.0 installed"):
        verify_aiortc_internals()


def test_verify_reports_a_different_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiortc, "__version__", "1.17.0")
    with pytest.raises(AiortcInternalsChanged, match="1.17.0 installed"):
        verify_aiortc_internals()


def test_verify_reports_a_changed_sender_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sender loop we copy must still be the one we copied (its source is compared)."""
    aiortc_hook.install()

    async def other_run_rtp(self: object, codec: object) -> None:
        sequence_number = 0  # noqa: F841 (a loop that differs from the copied one)

    monkeypatch.setattr(send, "_original_run_rtp", other_run_rtp)
    with pytest.raises(AiortcInternalsChanged, match="_run_rtp no longer contains"):
        verify_aiortc_internals()

    async def other_send(self: object, params: object) -> None:
        pass

    monkeypatch.setattr(send, "_original_run_rtp", None)
    monkeypatch.setattr(send, "_original_send", other_send)
    with pytest.raises(AiortcInternalsChanged, match="send parameters changed"):
        verify_aiortc_internals()


def test_verify_reports_a_changed_opus_pack(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiortc.codecs import opus

    def other_pack(self: object, packet: object) -> tuple[list[bytes], int]:
        return [], 0

    monkeypatch.setattr(opus.OpusEncoder, "pack", other_pack)
    with pytest.raises(AiortcInternalsChanged, match="OpusEncoder.pack no longer"):
        verify_aiortc_internals()


def test_verify_reports_a_changed_rtp_serializer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The copied sender writes the RTP header itself; a changed ``serialize`` must be noticed."""
    original = RtpPacket.serialize

    def other_serialize(self: RtpPacket, extensions_map: object = None) -> bytes:
        return original(self, extensions_map) + b"\x00"  # type: ignore[arg-type]

    monkeypatch.setattr(RtpPacket, "serialize", other_serialize)
    with pytest.raises(AiortcInternalsChanged, match="serialize no longer matches"):
        verify_aiortc_internals()


def test_verify_reports_a_changed_ice_receive_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from aioice.ice import Connection

    def other_data_received(self: object, data: bytes, component: int) -> None:
        pass

    monkeypatch.setattr(Connection, "data_received", other_data_received)
    with pytest.raises(AiortcInternalsChanged, match="data_received no longer contains"):
        verify_aiortc_internals()


def test_verify_reports_stream_statistics_reading_more_of_a_packet(monkeypatch: pytest.MonkeyPatch) -> None:
    def other_add(self: object, packet: RtpPacket) -> None:
        return packet.sequence_number, packet.timestamp, packet.payload  # type: ignore[return-value]

    monkeypatch.setattr(StreamStatistics, "add", other_add)
    with pytest.raises(AiortcInternalsChanged, match="StreamStatistics.add reads"):
        verify_aiortc_internals()


def test_telephone_event_registered_once_at_both_rates() -> None:
    aiortc_hook.install()
    aiortc_hook.register_telephone_event()
    events = [(c.clockRate, c.payloadType) for c in CODECS["audio"] if c.mimeType == "audio/telephone-event"]
    assert sorted(events) == [(8000, 126), (48000, 110)]
    assert CODECS["audio"][0].mimeType == "audio/opus"
    used = [c.payloadType for kind in CODECS.values() for c in kind]
    assert len(used) == len(set(used)), "payload types collide"
