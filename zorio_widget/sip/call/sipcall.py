"""``SipCall``: one INVITE session on a trunk, outbound or inbound (SIP.js's Inviter/Invitation).

The call layer drives it like any leg's endpoint; its media is an ``RtpSession`` (``call.media``)
that SDP offer/answer keeps in step. It is its roles combined, one module each: what every call
has (``core``: state, end, in-dialog sending), the side that sent the INVITE (``outbound``) or
received it (``inbound``), and the confirmed dialog (``indialog``: hold, the far end's requests).
``hangup()`` is here because it depends on the side and the state: CANCEL, 480 or BYE.
"""

from __future__ import annotations

from collections.abc import Mapping

from .inbound import InboundInvite
from .indialog import InDialog
from .outbound import OutboundInvite


class SipCall(OutboundInvite, InboundInvite, InDialog):
    """One call on one trunk; ``agent`` sends its messages and owns its media ports."""

    async def hangup(self, headers: Mapping[str, str] | None = None) -> None:
        """End the call whatever its state: CANCEL, 480/487, or BYE (the last two with the call's
        `X-` `headers`)."""
        if self.state == "ended":
            return
        if self.direction == "outbound" and self.state in ("calling", "early"):
            self._cancel_wanted = True
            if self.state == "early" and not self._cancel_sent:
                self._send_cancel()
            self._finish("cancelled", None)
            return
        if self.direction == "inbound" and self.state in ("incoming", "early"):
            self.reject(480, headers)
            return
        self._send_bye(headers)
        self._finish("hangup", None)

    def _register_dialog(self) -> None:
        self.agent.ua.register_dialog(self)

    def _forget(self) -> None:
        self.agent.forget(self)
