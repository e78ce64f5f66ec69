"""The side of a call that sent the INVITE (RFC 3261 §13.2, SIP.js's Inviter).

1xx → ``on_progress(call, code, early_media)`` (a 183's SDP starts the media at once); 2xx → ACK
(a new request, resent for each retransmitted 2xx), ``on_answered``; a 401/407 is answered with
digest credentials and a new CSeq (``MAX_AUTH_ATTEMPTS``); a final error → ``on_ended`` with the
reason of ``END_REASONS``. Hung up before the answer (``SipCall.hangup``): a CANCEL, sent once a
provisional arrived (RFC 3261 §9.1), and a 2xx that crosses it is ACKed and BYEd.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

from sipmessage import Address, Response

from ...media.sdputil import BadSdp
from ..dialog import Dialog, DialogError
from ..digest import MAX_AUTH_ATTEMPTS
from ..message import make_cancel, new_call_id, new_request, new_tag, tag_of
from .core import SDP, CallCore, add_x_headers, end_reason


class OutboundInvite(CallCore):
    """Our INVITE and what its responses do to the call."""

    def start_outbound(self, number: str, caller_id: str, caller_name: str,
                       headers: Mapping[str, str] | None = None) -> None:
        """Send the INVITE with our SDP offer and the call's `X-` `headers` (``agent.dial`` calls this)."""
        config = self.agent.config
        self.remote_number, self.local_number = number, caller_id
        domain = config.uri_domain
        offer = self.media.create_offer().encode()
        from_address = Address.parse(f"<sip:{caller_id}@{domain}>;tag={new_tag()}")
        if caller_name:
            from_address = Address(from_address.uri, caller_name, from_address.parameters)
        self._invite = new_request(
            "INVITE", self.agent.request_uri(number), from_address=from_address,
            to_address=Address.parse(f"<sip:{number}@{domain}>"), call_id=new_call_id(self.agent.local_host),
            cseq=1, via=self.agent.via(), contact=self.agent.contact(), body=offer, content_type=SDP,
            user_agent=self.agent.user_agent,
        )
        add_x_headers(self._invite, headers)
        self.log.info("INVITE %s from %s via trunk %s", number, caller_id, config.name)
        self._send_invite()

    def _send_invite(self) -> None:
        assert self._invite is not None
        self.agent.send(self._invite, self._invite_response)

    def _invite_response(self, response: Response) -> None:
        code = response.code
        if self.state == "ended":  # hung up before the answer: CANCEL, or ACK+BYE a crossing 2xx
            if code < 200 and self._cancel_wanted and not self._cancel_sent:
                self._send_cancel()
            elif 200 <= code < 300 and self._ack is None:
                self._ack_2xx(response)
                self._send_bye()
            elif 200 <= code < 300 and self.dialog is not None:
                self.agent.send_to_target(self._ack, self.dialog)  # type: ignore[arg-type]
            return
        if code < 200:
            self._provisional(response, code)
        elif code < 300:
            self._accepted(response)
        elif code in (401, 407) and self._retry_with_credentials(response):
            return
        else:
            self._finish(end_reason(code), code)

    def _provisional(self: Self, response: Response, code: int) -> None:
        if self._cancel_wanted and not self._cancel_sent:
            self._send_cancel()
        if code == 100:
            return
        if tag_of(response.to_address) and self.dialog is None and response.contact:
            try:
                self.dialog = Dialog.from_uac(self._invite, response)  # type: ignore[arg-type]
                self._register_dialog()
            except DialogError:
                pass
        early = False
        if response.body and not self._early_media:
            try:
                self.media.accept_answer(response.body.decode("utf-8", "replace"))
                early = self._early_media = True
            except BadSdp as exc:
                self.log.warning("unusable early-media SDP in %d: %s", code, exc)
        if self.state == "calling":
            self._set_state("early")
        if self.on_progress is not None and not self._cancel_wanted:
            self.on_progress(self, code, early)

    def _accepted(self: Self, response: Response) -> None:
        if self._ack is not None:  # a retransmitted 2xx: the same ACK again
            self.agent.send_to_target(self._ack, self.dialog)
            return
        assert self._invite is not None
        try:
            self.dialog = Dialog.from_uac(self._invite, response)
        except DialogError as exc:
            self.log.warning("2xx without a usable dialog: %s", exc)
            self._finish("failed", response.code)
            return
        self._register_dialog()
        self.sip_code = response.code
        self._ack_2xx(response)
        try:
            if response.body:
                self.media.accept_answer(response.body.decode("utf-8", "replace"))
            elif not self._early_media:
                raise BadSdp("2xx carries no SDP answer")
        except BadSdp as exc:
            self.log.warning("bad SDP answer: %s", exc)
            self._send_bye()
            self._finish("failed", 488)
            return
        self._set_state("confirmed")
        self._answered.set()
        if self.on_answered is not None:
            self.on_answered(self)

    def _ack_2xx(self, response: Response) -> None:
        assert self._invite is not None
        if self.dialog is None:
            try:
                self.dialog = Dialog.from_uac(self._invite, response)
            except DialogError:
                return
            self._register_dialog()
        self.dialog.update_target(response)
        self._ack = self.dialog.create_ack(self._invite.cseq.sequence, self.agent.local_host, self.agent.local_port,
                                           self.agent.config.transport)
        self.agent.send_to_target(self._ack, self.dialog)

    def _retry_with_credentials(self, response: Response) -> bool:
        if self._cancel_wanted or self._auth_attempts >= MAX_AUTH_ATTEMPTS:
            return False
        if not self.agent.digest.learn(response):
            return False
        assert self._invite is not None
        self._auth_attempts += 1
        invite = self._invite
        retry = new_request(
            "INVITE", invite.uri, from_address=invite.from_address, to_address=invite.to_address,
            call_id=invite.call_id, cseq=invite.cseq.sequence + 1, via=self.agent.via(), contact=self.agent.contact(),
            body=invite.body, content_type=SDP, user_agent=self.agent.user_agent,
        )
        self.agent.digest.authorize(retry)
        self.agent.digest_used = True
        self._invite = retry
        self.log.info("INVITE challenged (%d): retrying with credentials", response.code)
        self._send_invite()
        return True

    def _send_cancel(self) -> None:
        assert self._invite is not None
        self._cancel_sent = True
        self.agent.send(make_cancel(self._invite), lambda r: None)
