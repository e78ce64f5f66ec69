"""The side of a call that received the INVITE (RFC 3261 §13.3, SIP.js's Invitation).

``ring()`` (180, or 183 with our SDP for early media), ``answer()`` (200 with SDP, resent by the
transaction until the ACK), ``reject(code)``; a CANCEL ends it ``cancelled``, a 200 never ACKed
ends it ``failed`` with a BYE.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

from sipmessage import Request, Response

from ...media.sdputil import BadSdp
from ..dialog import Dialog
from ..message import make_response, new_tag
from ..transaction import ServerTransaction
from .core import SDP, CallCore, add_x_headers, end_reason


class InboundInvite(CallCore):
    """Their INVITE and our responses to it."""

    def start_inbound(self, tx: ServerTransaction, answer_sdp: str, did: str) -> None:
        request = tx.request
        self._invite, self._invite_tx = request, tx
        self.local_number = did
        caller = request.from_address
        self.remote_number = caller.uri.user or ""
        self.remote_name = caller.name
        self._answer_sdp = answer_sdp
        self.dialog = Dialog.from_uas(request, new_tag(), self.agent.contact())
        tx.on_no_ack = self._no_ack
        tx.on_cancelled = self._cancelled

    def _response(self, code: int, body: bytes = b"") -> Response:
        assert self._invite is not None and self.dialog is not None
        response = make_response(self._invite, code, to_tag=self.dialog.local_tag)
        if 100 < code < 300:
            response.contact = [self.agent.contact()]
            response.headers.set("Allow", self.agent.ua.allow)
        if body:
            response.headers.set("Content-Type", SDP)
            response.body = body
        return response

    def ring(self, early_media: bool = False) -> None:
        """180 Ringing, or 183 Session Progress with our SDP (the far end hears what we play)."""
        if self.state not in ("incoming", "early") or self._invite_tx is None:
            return
        if early_media:
            self._invite_tx.respond(self._response(183, self._answer_sdp.encode()))
            self._early_media = True
        else:
            self._invite_tx.respond(self._response(180))
        self._set_state("early")

    @property
    def acked(self) -> bool:
        """Inbound: the ACK of our 200 arrived (the 200 is retransmitted until then)."""
        return self._answered.is_set()

    async def answer(self: Self, headers: Mapping[str, str] | None = None) -> None:
        """200 OK with our SDP and the call's `X-` `headers` (retransmitted by the transaction until
        the ACK: ``acked``)."""
        if self.state not in ("incoming", "early") or self._invite_tx is None:
            raise RuntimeError(f"cannot answer a call in state {self.state}")
        self.sip_code = 200
        response = self._response(200, self._answer_sdp.encode())
        add_x_headers(response, headers)
        self._invite_tx.respond(response)
        self._set_state("confirmed")
        if self.on_answered is not None:
            self.on_answered(self)

    def reject(self, code: int = 486, headers: Mapping[str, str] | None = None) -> None:
        if self.state not in ("incoming", "early") or self._invite_tx is None:
            return
        response = self._response(code)
        add_x_headers(response, headers)
        self._invite_tx.respond(response)
        self._finish(end_reason(code), code)

    def _cancelled(self) -> None:
        self._finish("cancelled", 487)

    def _no_ack(self, tx: ServerTransaction) -> None:
        if self.state == "confirmed" and not self._answered.is_set():
            self.log.warning("no ACK for our 200: ending the call")
            self._send_bye()
            self._finish("failed", None)

    def received_ack(self, request: Request) -> None:
        """The ACK of our 200 (to their INVITE or re-INVITE); it answers an offer our 200 made."""
        if self._invite_tx is not None:
            self._invite_tx.ack_received()
        self._answered.set()
        if request.body and self._pending_offer_in_answer:
            try:
                self.media.accept_answer(request.body.decode("utf-8", "replace"))
            except BadSdp as exc:
                self.log.warning("bad SDP in ACK: %s", exc)
            self._pending_offer_in_answer = False
