"""Server-side media for Zorio Webphone: pure asyncio + aiortc (no Django), docs/DESIGN.md §4b.

- ``MediaLeg``: one server peer connection per browser leg (``leg.py``).
- ``Bridge``: who hears what — relay, echo, ringback/music, mute, hold, DTMF to a leg (RFC 4733
  events when negotiated, else in-band tones) (``bridge/``: the commands, the rule table, the packet
  relay, digits, taps): an object, owned by the call layer's switchboard; ``BridgedMedia`` is what
  it needs of a leg's media.
- ``OutboundAudio``: the one switchable, pre-encoded outbound track of a leg (``outbound.py``);
  ``Timeline``: its state that the Python relay path and the native route share (``timeline.py``).
- ``CallCapacity``: per-process concurrent call cap (``capacity.py``).
- DTMF: RFC 4733 receive and send packets, a Goertzel in-band detector (``dtmf.py``).
- ``clips``: ringback, music-on-hold, silence and DTMF tones, Opus-encoded once per process.
- ``playback``, ``speech``: files, URLs and synthesised prompts as clips a leg plays.
- ``aiortc_hook``: the only package touching aiortc/aioice internals (pinned: aiortc 1.16.0,
  aioice 0.13.0): the inventory of private names, the upgrade tripwire, the receive tap, the
  socket path, and a sender loop that interleaves RFC 4733 events with the audio (``DirectSend``).
- ``native``: the relay's steady state in C (``native/_fastrelay.c``, built by ``make native``);
  ``native.routes`` arms it once a pair relays plainly: each packet is then read, unprotected,
  renumbered, protected and sent in one C call, on the same state as the Python path, which takes
  over at any change; browser and trunk legs alike (plain RTP in or out for a trunk's side).
- ``lifecycle``: the state, close listeners and closing shared by every leg's media.

Inside the package, imports go one way: the extension loader (``native``) and ``aiortc_hook`` at
the bottom, then ``clips``, ``dtmf``, ``timeline``, ``outbound``, ``native.routes``, ``leg`` and
``bridge`` on top (tests/media/test_imports.py checks that no modules import each other in a circle).

"""

from .aiortc_hook import AiortcInternalsChanged, ReceivedPacket, verify_aiortc_internals
from .bridge import Bridge, BridgedMedia
from .capacity import CallCapacity
from .clips import preload_clips
from .dtmf import GoertzelDetector, TelephoneEventReceiver, parse_telephone_event
from .leg import MediaLeg
from .outbound import OutboundAudio
from .sdputil import BadSdp
from .timeline import Source, Timeline

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
    "Timeline",
    "parse_telephone_event",
    "preload_clips",
    "verify_aiortc_internals",
]
