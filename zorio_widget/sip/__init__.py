"""The SIP trunk: an asyncio user agent inside the server process (docs/DESIGN.md §7b).

Layers, each importing only those below it (as SIP.js keeps ``core/`` under ``api/``):

- ``transport`` (UDP + TCP, ``framing`` by Content-Length) — bytes;
- ``message`` — ``sipmessage`` objects, checked (malformed: 400 or dropped), built;
- ``timers`` + ``transaction`` + ``layer`` — RFC 3261 §17 state machines and their matching;
- ``dialog`` — RFC 3261 §12; ``digest`` — RFC 8760 MD5/SHA-256, client and server;
- ``call.SipCall`` (one INVITE session), ``registration.Registerer``, ``agent.TrunkAgent`` (one
  trunk account: addresses, credentials, REGISTER, OPTIONS keep-alive, channels);
- ``ua.UserAgent`` — the endpoint bound to ``SIP_BIND``, shared by all trunks.

How the call layer drives it (the trunk leg = a ``SipCall`` endpoint + its ``RtpSession`` media):

1. At start-up: ``ua = UserAgent(host, port, public_address=SIP_PUBLIC_ADDRESS,
   rtp_ports=PortRange(RTP_PORT_MIN, RTP_PORT_MAX), on_incoming=..., on_trunk_state=...)``,
   ``await ua.set_trunks(configs)`` (``zorio_widget.trunks`` builds the ``TrunkConfig``s from the
   ``Trunk`` model and calls it again whenever a trunk changes), ``await ua.start()``; at shutdown
   ``await ua.close()``.
2. Outbound: ``call = await ua.dial(trunk_id, number, caller_id=..., caller_name=...)`` — the
   INVITE is on its way with our SDP offer. Set ``call.on_progress(call, code, early_media)``
   (180/183: ``call.ringing``; ``early_media`` means the carrier's audio flows: bridge it to the
   browser, no local ringback), ``call.on_answered(call)``, ``call.on_ended(call, reason, code)``
   (``reason`` is an end reason of docs/DESIGN.md §4 from ``call.END_REASONS``; ``code`` the SIP code
   for the call record), ``call.on_hold(call, held)`` (the far end holds/resumes us) and
   ``call.on_dtmf(call, digit)`` (RFC 4733 and SIP INFO alike).
3. Inbound: ``on_incoming(call, target)`` — ``target`` is the DID's configured target (an
   extension or route number); ``call.remote_number``/``remote_name`` are ``call.incoming``'s
   ``from``/``from_name``. Then ``call.ring()`` (or ``ring(early_media=True)`` to play our
   ringback/prompt to the caller), ``await call.answer()`` or ``call.reject(486|603|480)``; the
   same callbacks as outbound follow (a CANCEL ends it ``cancelled``).
4. In the call: ``await call.hold()`` / ``await call.unhold()`` (re-INVITE sendonly/sendrecv: the
   bridge plays music to the trunk party meanwhile), ``call.send_dtmf(digits)``, ``await call.hangup()``
   (CANCEL, reject or BYE as the state needs).
5. Media: ``call.media`` is an ``RtpSession`` with the ``MediaLeg`` interface (``on_packet``,
   ``outbound``, ``on_failed``, ``close()``): the bridge relays G.711 between it and a browser leg
   that negotiated PCMU/PCMA, or through ``media.rtp.transcode`` when the codecs differ. When
   ``media.on_failed`` fires (no RTP for ``media_timeout_s``) the owner hangs the call up.
"""

from .agent import TrunkAgent, TrunkBusy
from .call import CALL_STATES, END_REASONS, SipCall, end_reason
from .config import TrunkConfig
from .registration import REGISTRATION_STATES
from .timers import Timers
from .ua import UserAgent

__all__ = [
    "CALL_STATES",
    "END_REASONS",
    "REGISTRATION_STATES",
    "SipCall",
    "Timers",
    "TrunkAgent",
    "TrunkBusy",
    "TrunkConfig",
    "UserAgent",
    "end_reason",
]
