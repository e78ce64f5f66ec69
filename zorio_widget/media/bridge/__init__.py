"""The bridge: who hears what, for the legs of the calls of this process.

One module per concept, importing one way (top to bottom):

- ``bridge.py``: ``Bridge``, the commands and queries the call layer uses (connect, listen, echo,
  play, mute, hold, tap, replace, remove), and the one place a leg's source is applied.
- ``relay.py``: ``Relay``, the packet path: which legs hear a leg's packets (derived from the
  applied sources), the push of each packet as it is or converted, and the native route's arming.
- ``digits.py``: DTMF sent to a leg (RFC 4733 events or in-band tones).
- ``rules.py``: ``LegMedia``, the record per leg, and ``source_for``, the rule deciding what it hears.
- ``taps.py``: ``Tap``, ``Taps``: what sees every audio packet a leg sends.
- ``bridged.py``: ``BridgedMedia``, ``OutboundTrack``: what the bridge needs of a leg's media.
"""

from .bridge import Bridge
from .bridged import BridgedMedia, OutboundTrack
from .rules import PLAYABLE
from .taps import Tap

__all__ = ["PLAYABLE", "Bridge", "BridgedMedia", "OutboundTrack", "Tap"]
