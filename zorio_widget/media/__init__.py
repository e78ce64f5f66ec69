"""Server-side media for Zorio Webphone: pure asyncio + aiortc (no Django), DESIGN.md §4b.

- ``MediaLeg``: one server peer connection per browser leg (``leg.py``).
- ``Bridge``: who hears what — relay, echo, ringback/music, mute, hold, DTMF to a leg (RFC 4733
  events when negotiated, else in-band tones) (``bridge.py``): an object, owned by the call layer's
  switchboard; ``BridgedMedia`` is what it needs of a leg's media.
- ``OutboundAudio``: the one switchable, pre-encoded outbound track of a leg (``outbound.py``).
- ``CallCapacity``: per-process concurrent call cap (``capacity.py``).
- DTMF: RFC 4733 receive and send packets, a Goertzel in-band detector (``dtmf.py``).
- ``aiortc_hook``: the only module touching aiortc/aioice internals (pinned: aiortc 1.16.0, aioice
  0.13.0): receive tap, telephone-event codecs, a sender loop that interleaves RFC 4733 events with
  the audio, and the relay's hot path (SRTP read in the socket callback, ``DirectSend``).
- ``native``: when the relay's steady state runs in C (``_fastrelay.c``, built by ``make native``):
  once a pair relays plainly, each packet is read, unprotected, renumbered, protected and sent in
  one C call, on the same Python state as the Python path, which takes over at any change.

Not done here: recording, playback of files, TTS, G.711 trunk legs.
"""

from .aiortc_hook import AiortcInternalsChanged, ReceivedPacket, verify_aiortc_internals
from .bridge import Bridge, BridgedMedia
from .capacity import CallCapacity
from .clips import preload_clips
from .dtmf import GoertzelDetector, TelephoneEventReceiver, parse_telephone_event
from .leg import MediaLeg
from .outbound import OutboundAudio, Source
from .sdputil import BadSdp

__all__ = [
    "AiortcInternalsChanged",
    "BadSdp",
    "Bridge",
    "BridgedMedia",
    "CallCapacity",
    "GoertzelDetector",
    "MediaLeg",
    "OutboundAudio",
    "ReceivedPacket",
    "Source",
    "TelephoneEventReceiver",
    "parse_telephone_event",
    "preload_clips",
    "verify_aiortc_internals",
]
