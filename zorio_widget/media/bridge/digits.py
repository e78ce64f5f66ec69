"""DTMF sent *to* a leg (what its client gets): RFC 4733 events when its remote negotiated
telephone-event, else in-band dual tones in the leg's own codec over whatever it was hearing.

Separate from the rule table because digits change no one's source: they are queued on the leg's
outbound track, which resumes what it was playing afterwards.
"""

from __future__ import annotations

import logging

from ..clips import DTMF_DIGITS, FRAME_S, load_clip
from ..dtmf import telephone_event_packets
from ..rtp import clips as g711_clips
from .bridged import BridgedMedia

logger = logging.getLogger(__name__)

async def send_digits(leg: BridgedMedia, digits: str) -> float:
    """Send ``digits`` to ``leg``: RFC 4733 events if negotiated, else in-band tones.

    Returns the seconds it takes (queued). Raises ``ValueError`` for characters outside
    ``0-9 * # A-D``.
    """
    bad = [d for d in digits if d.upper() not in DTMF_DIGITS]
    if not digits or bad:
        raise ValueError(f"invalid DTMF digits {digits!r}")
    negotiated = leg.telephone_event
    if negotiated is not None:
        payload_type, clock_rate = negotiated
        events = [p for digit in digits.upper() for p in telephone_event_packets(digit, clock_rate)]
        leg.outbound.play_events(events, payload_type)
        logger.info("[leg %s] sending DTMF %s as RFC 4733 events (pt %d)", leg.id, digits, payload_type)
        return sum(p.gap_after_s + (0.0 if p.repeat else FRAME_S) for p in events)
    packets: list[bytes] = []
    codec = leg.outbound.audio_codec
    for digit in digits.upper():
        if codec == "opus":
            packets.extend((await load_clip(f"dtmf:{digit}")).packets)
        else:
            packets.extend(await g711_clips.load(f"dtmf:{digit}", codec))
    leg.outbound.play_once(packets)
    logger.info("[leg %s] sending DTMF %s in-band", leg.id, digits)
    return len(packets) * FRAME_S  # 20 ms a packet, Opus or G.711
