"""``Transcoders``: the bridge's relay between two legs whose codecs differ (Opus, PCMU, PCMA).

A call relays encoded packets as they are whenever both legs speak one codec: a browser facing a
trunk negotiates G.711 for that (docs/MEDIA-NOTES.md). Codecs still differ after a transfer (a trunk
party joined to an agent whose leg was negotiated with Opus for another call) or with a browser
that offers no G.711. Then each direction of such a pair gets one converter, made on its first
packet and dropped when the pair is no longer relaying:

- Opus → G.711 and G.711 → Opus decode, resample and encode in the adapter's worker thread
  (``rtp.transcode.TranscodingAdapter``: the loop only hands payloads over and takes the results
  back), so the relay of other calls is not held up by codec work;
- PCMU ↔ PCMA is a 256-byte table (``bytes.translate``), applied at once.

Converted payloads are 20 ms frames; they go to the listener's track with their own timestamps
(one frame apart, in the listener codec's clock) on the source's SSRC.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from .aiortc_hook import ReceivedPacket
from .rtp import g711
from .rtp.transcode import G711ToOpus, OpusToG711, TranscodingAdapter

logger = logging.getLogger(__name__)

FRAME_SAMPLES: Final = {"opus": 960, "pcmu": g711.FRAME_SAMPLES, "pcma": g711.FRAME_SAMPLES}
"Samples of one 20 ms frame in each codec's RTP clock."


def law_table(source: str, target: str) -> bytes:
    """The ``bytes.translate`` table from one G.711 law to the other."""
    every_byte = bytes(range(256))
    return g711.encode(target, g711.decode(source, every_byte).astype(np.int16))


@dataclass
class _Direction:
    """One direction of one pair: ``push`` a payload, the converted ones reach ``deliver``."""

    push: Callable[[bytes], Any]
    close: Callable[[], None]
    target_codec: str
    ssrc: int = 0
    timestamp: int = 0


class Transcoders:
    """Every converting direction of the bridge, by (source leg id, listener leg id)."""

    def __init__(self) -> None:
        self._directions: dict[tuple[str, str], _Direction] = {}
        self._tables: dict[tuple[str, str], bytes] = {}
        self._pulls: dict[str, tuple[Any, PulledInG711]] = {}

    def relay(self, source_id: str, target: Any, packet: ReceivedPacket, target_codec: str) -> None:
        """Convert ``packet`` of ``source_id`` for ``target`` (a ``BridgedMedia``) and push it."""
        key = (source_id, target.id)
        direction = self._directions.get(key)
        source_codec = packet.mime_type.removeprefix("audio/")
        if direction is None or direction.target_codec != target_codec:
            if direction is not None:
                direction.close()
            made = self._make(source_id, source_codec, target, target_codec)
            if made is None:
                return
            direction = self._directions[key] = made
        direction.ssrc = packet.ssrc
        direction.push(packet.payload)

    def drop(self, source_id: str, target_id: str) -> None:
        """``target_id`` no longer hears ``source_id``: close that direction, if any."""
        direction = self._directions.pop((source_id, target_id), None)
        if direction is not None:
            direction.close()

    def pull_for(self, leg_id: str, source: Any, pull: Callable[[], bytes | None],
                 codec: str) -> Callable[[], bytes | None]:
        """``pull`` (Opus payloads) as a leg speaking ``codec`` must get it: as it is for Opus,
        else through one ``PulledInG711`` per leg and source (kept while that source plays)."""
        if codec == "opus":
            self._pulls.pop(leg_id, None)
            return pull
        kept = self._pulls.get(leg_id)
        if kept is None or kept[0] != source or kept[1].codec != codec:
            kept = self._pulls[leg_id] = (source, PulledInG711(pull, codec))
        return kept[1]

    def forget(self, leg_id: str) -> None:
        """Close the directions from or to ``leg_id`` (it stopped relaying, or it is gone)."""
        self._pulls.pop(leg_id, None)
        for key in [k for k in self._directions if leg_id in k]:
            self._directions.pop(key).close()

    @property
    def active(self) -> int:
        return len(self._directions)

    def _make(self, source_id: str, source: str, target: Any, target_codec: str) -> _Direction | None:
        frame = FRAME_SAMPLES.get(target_codec)
        if frame is None or source not in FRAME_SAMPLES:
            logger.warning("[leg %s] cannot convert %s to %s for leg %s", source_id, source, target_codec, target.id)
            return None
        holder: list[_Direction] = []

        def deliver(payloads: list[bytes]) -> None:
            direction = holder[0]
            for payload in payloads:
                direction.timestamp = (direction.timestamp + frame) & 0xFFFFFFFF
                target.outbound.push(source_id, direction.ssrc, direction.timestamp, payload)

        if source != "opus" and target_codec != "opus":
            table = self._tables.get((source, target_codec))
            if table is None:
                table = self._tables[(source, target_codec)] = law_table(source, target_codec)

            def translate(payload: bytes) -> None:
                deliver([payload.translate(table)])

            direction = _Direction(translate, lambda: None, target_codec)
        else:
            converter = OpusToG711(target_codec) if source == "opus" else G711ToOpus(source)
            adapter = TranscodingAdapter(converter, deliver)
            direction = _Direction(adapter.push, adapter.close, target_codec)
        holder.append(direction)
        logger.info("[leg %s] transcoding %s -> %s for leg %s", source_id, source, target_codec, target.id)
        return direction


class PulledInG711:
    """A playback's pull (one 20 ms Opus payload per call, ``None`` for none) as G.711 payloads,
    for a leg that speaks G.711 (a trunk, a browser facing one). Decoding 20 ms of Opus costs about
    as much as relaying a few packets, done once per tick of that one leg's clock."""

    def __init__(self, pull: Callable[[], bytes | None], codec: str) -> None:
        self.pull = pull
        self.codec = codec
        self._converter = OpusToG711(codec)
        self._ready: list[bytes] = []

    def __call__(self) -> bytes | None:
        if not self._ready:
            payload = self.pull()
            if payload is None:
                return None
            try:
                self._ready = self._converter.convert(payload)
            except ValueError:
                return None
        return self._ready.pop(0) if self._ready else None
