"""``SipCall``: one INVITE session on a trunk, outbound or inbound (SIP.js's Inviter/Invitation).

The call layer drives it like any leg's endpoint; its media is an ``RtpSession`` (``call.media``)
that SDP offer/answer keeps in step. States (``CALL_STATES``): ``calling`` (our INVITE sent) or
``incoming`` (theirs received) → ``early`` (a provisional with a dialog) → ``confirmed`` → ``ended``.

Outbound: 1xx → ``on_progress(call, code, early_media)`` (a 183's SDP starts the media at once);
2xx → ACK (a new request, resent for each retransmitted 2xx), ``on_answered``; a 401/407 is answered
with digest credentials and a new CSeq (``MAX_AUTH_ATTEMPTS``); a final error → ``on_ended`` with the
reason of ``END_REASONS``. ``hangup()`` before the answer is a CANCEL — sent once a provisional
arrived (RFC 3261 §9.1) — and a 2xx that crosses it is ACKed and BYEd.
Inbound: ``ring()`` (180, or 183 with our SDP for early media), ``answer()`` (200 with SDP, resent
until the ACK), ``reject(code)``; a CANCEL ends it ``cancelled``.
In the call: ``hold()``/``unhold()`` re-INVITE with ``sendonly``/``sendrecv``; a re-INVITE from the
far end is answered from ``media`` and reported as ``on_hold(call, held)``; INFO ``dtmf-relay`` and
RFC 4733 events both reach ``on_dtmf``; BYE from either side ends the call (``hangup``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from sipmessage import Address, Request, Response

from ..media.rtp import RtpSession
from ..media.sdputil import BadSdp
from .dialog import Dialog, DialogError
from .digest import MAX_AUTH_ATTEMPTS
from .message import make_cancel, make_response, new_call_id, new_request, new_tag, tag_of
from .transaction import ServerTransaction

if TYPE_CHECKING:
    from .agent import TrunkAgent

logger = logging.getLogger(__name__)

CALL_STATES: Final = ("calling", "incoming", "early", "confirmed", "ended")
END_REASONS: Final[dict[int, str]] = {
    486: "busy", 600: "busy", 480: "no-answer", 408: "no-answer", 404: "failed", 484: "failed",
    603: "rejected", 487: "cancelled",
}
"SIP final codes → call end reasons (docs/DESIGN.md §4); other 4xx/5xx/6xx are ``failed``."
SDP: Final = "application/sdp"
GLARE_RETRY_S: Final = (2.1, 4.0)
"RFC 3261 §14.1: after a 491 the call owner (we placed it) retries within this window."
_DTMF_RELAY = re.compile(r"^\s*signal\s*=\s*([0-9*#A-Da-d])\s*$", re.IGNORECASE | re.MULTILINE)


def end_reason(code: int) -> str:
    if code in END_REASONS:
        return END_REASONS[code]
    return "failed"


class _CallLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"[sip call {self.extra['call']}] {msg}", kwargs  # type: ignore[index]


Callback = Callable[["SipCall"], None]


class SipCall:
    """One call on one trunk; ``agent`` sends its messages and owns its media ports."""

    def __init__(self, agent: TrunkAgent, media: RtpSession, direction: str) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.agent = agent
        self.media = media
        self.direction = direction
        self.log = _CallLog(logger, {"call": self.id})
        self.state = "calling" if direction == "outbound" else "incoming"
        self.dialog: Dialog | None = None
        self.remote_number = ""
        "The other party's number (the callee outbound, the caller inbound)."
        self.remote_name = ""
        self.local_number = ""
        "Our side's number: the caller id presented, or the DID called."
        self.sip_code: int | None = None
        "The final response code of the INVITE (ours or theirs), kept for the call record."
        self.end_reason: str | None = None
        self.held_by_remote = False
        self.on_progress: Callable[[SipCall, int, bool], None] | None = None
        self.on_answered: Callback | None = None
        self.on_ended: Callable[[SipCall, str, int | None], None] | None = None
        self.on_hold: Callable[[SipCall, bool], None] | None = None
        self.on_dtmf: Callable[[SipCall, str], None] | None = None
        self.ended = asyncio.Event()
        self._invite: Request | None = None
        self._invite_tx: ServerTransaction | None = None
        self._ack: Request | None = None
        self._cancel_wanted = False
        self._cancel_sent = False
        self._auth_attempts = 0
        self._early_media = False
        self._reinvite_pending = False
        self._answered = asyncio.Event()
        media.on_dtmf = self._media_dtmf

    def __repr__(self) -> str:
        return f"<SipCall {self.id} {self.direction} {self.state}>"

    # -- outbound ---------------------------------------------------------------------------------

    def start_outbound(self, number: str, caller_id: str, caller_name: str) -> None:
        """Send the INVITE with our SDP offer (``agent.dial`` calls this)."""
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

    def _provisional(self, response: Response, code: int) -> None:
        if self._cancel_wanted and not self._cancel_sent:
            self._send_cancel()
        if code == 100:
            return
        if tag_of(response.to_address) and self.dialog is None and response.contact:
            try:
                self.dialog = Dialog.from_uac(self._invite, response)  # type: ignore[arg-type]
                self.agent.ua.register_dialog(self)
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

    def _accepted(self, response: Response) -> None:
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
        self.agent.ua.register_dialog(self)
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
            self.agent.ua.register_dialog(self)
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

    # -- inbound ----------------------------------------------------------------------------------

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

    async def answer(self) -> None:
        """200 OK with our SDP (retransmitted by the transaction until the ACK: ``acked``)."""
        if self.state not in ("incoming", "early") or self._invite_tx is None:
            raise RuntimeError(f"cannot answer a call in state {self.state}")
        self.sip_code = 200
        self._invite_tx.respond(self._response(200, self._answer_sdp.encode()))
        self._set_state("confirmed")
        if self.on_answered is not None:
            self.on_answered(self)

    def reject(self, code: int = 486) -> None:
        if self.state not in ("incoming", "early") or self._invite_tx is None:
            return
        self._invite_tx.respond(self._response(code))
        self._finish(end_reason(code), code)

    def _cancelled(self) -> None:
        self._finish("cancelled", 487)

    def _no_ack(self, tx: ServerTransaction) -> None:
        if self.state == "confirmed" and not self._answered.is_set():
            self.log.warning("no ACK for our 200: ending the call")
            self._send_bye()
            self._finish("failed", None)

    def received_ack(self, request: Request) -> None:
        if self._invite_tx is not None:
            self._invite_tx.ack_received()
        self._answered.set()
        if request.body and self._pending_offer_in_answer:
            try:
                self.media.accept_answer(request.body.decode("utf-8", "replace"))
            except BadSdp as exc:
                self.log.warning("bad SDP in ACK: %s", exc)
            self._pending_offer_in_answer = False

    _pending_offer_in_answer = False

    # -- in the call --------------------------------------------------------------------------------

    async def hangup(self) -> None:
        """End the call whatever its state: CANCEL, 480/487, or BYE."""
        if self.state == "ended":
            return
        if self.direction == "outbound" and self.state in ("calling", "early"):
            self._cancel_wanted = True
            if self.state == "early" and not self._cancel_sent:
                self._send_cancel()
            self._finish("cancelled", None)
            return
        if self.direction == "inbound" and self.state in ("incoming", "early"):
            self.reject(480)
            return
        self._send_bye()
        self._finish("hangup", None)

    async def hold(self) -> bool:
        """Put the far end on hold (re-INVITE ``sendonly``: it hears what we send, e.g. music)."""
        return await self._reinvite("sendonly")

    async def unhold(self) -> bool:
        return await self._reinvite("sendrecv")

    async def _reinvite(self, direction: str) -> bool:
        if self.state != "confirmed" or self.dialog is None or self._reinvite_pending:
            return False
        self._reinvite_pending = True
        try:
            for attempt in range(2):
                response = await self._in_dialog("INVITE", self.media.create_offer(direction).encode(), SDP)
                if response.code == 491 and attempt == 0:
                    await asyncio.sleep(random.uniform(*GLARE_RETRY_S))
                    continue
                if 200 <= response.code < 300:
                    self.dialog.update_target(response)
                    ack = self.dialog.create_ack(response.cseq.sequence, self.agent.local_host,
                                                 self.agent.local_port, self.agent.config.transport)
                    self.agent.send_to_target(ack, self.dialog)
                    try:
                        self.media.accept_answer(response.body.decode("utf-8", "replace"))
                    except BadSdp as exc:
                        self.log.warning("bad SDP in re-INVITE answer: %s", exc)
                        return False
                    return True
                if response.code in (408, 481):
                    self._finish("failed", response.code)
                return False
            return False
        finally:
            self._reinvite_pending = False

    async def _in_dialog(self, method: str, body: bytes = b"", content_type: str | None = None) -> Response:
        """Send an in-dialog request through the route set; answers 401/407 with credentials."""
        assert self.dialog is not None
        for _ in range(MAX_AUTH_ATTEMPTS + 1):
            request = self.dialog.create_request(method, self.agent.via(), body=body, content_type=content_type,
                                                 user_agent=self.agent.user_agent)
            if self.agent.digest_used:
                self.agent.digest.authorize(request)
            future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()

            def done(response: Response, future: asyncio.Future[Response] = future) -> None:
                if response.code >= 200 and not future.done():
                    future.set_result(response)
            await self.agent.send_in_dialog(request, self.dialog, done)
            response = await future
            if response.code in (401, 407) and self.agent.digest.learn(response):
                self.agent.digest_used = True
                continue
            return response
        return response

    def _send_bye(self) -> None:
        if self.dialog is None:
            return
        request = self.dialog.create_request("BYE", self.agent.via(), user_agent=self.agent.user_agent)
        if self.agent.digest_used:
            self.agent.digest.authorize(request)
        task = asyncio.ensure_future(self.agent.send_in_dialog(request, self.dialog, lambda r: None))
        self.agent.keep(task)

    def send_dtmf(self, digits: str) -> bool:
        """RFC 4733 events on the media; ``False`` when the far end did not negotiate them."""
        return self.media.send_dtmf(digits)

    # -- requests from the far end inside the dialog --------------------------------------------

    def receive_request(self, tx: ServerTransaction) -> None:
        request = tx.request
        assert self.dialog is not None
        if not self.dialog.accept_remote_cseq(request):
            tx.reply(500, "CSeq Out Of Order")
            return
        method = request.method
        if method == "BYE":
            tx.reply(200)
            self._finish("hangup", None)
        elif method == "INVITE":
            self._remote_reinvite(tx)
        elif method == "INFO":
            self._info(tx)
        elif method == "OPTIONS":
            tx.respond(self._options_reply(request))
        else:  # a method we know but do not serve in a call (unknown ones got 501 from the UA)
            response = make_response(request, 405, to_tag=self.dialog.local_tag)
            response.headers.set("Allow", self.agent.ua.allow)
            tx.respond(response)

    def _options_reply(self, request: Request) -> Response:
        response = make_response(request, 200, to_tag=self.dialog.local_tag if self.dialog else None)
        response.headers.set("Allow", self.agent.ua.allow)
        return response

    def _remote_reinvite(self, tx: ServerTransaction) -> None:
        assert self.dialog is not None
        if self.state != "confirmed":
            tx.reply(491 if self.state == "early" else 481)
            return
        if self._reinvite_pending:
            tx.reply(491)
            return
        request = tx.request
        self.dialog.update_target(request)
        want = "sendonly" if self.media.local_direction == "sendonly" else "sendrecv"
        try:
            if request.body:
                answer = self.media.accept_offer(request.body.decode("utf-8", "replace"), want)
            else:  # an offer-less re-INVITE: we offer in the 200, the ACK answers
                answer = self.media.create_offer(want)
                self._pending_offer_in_answer = True
        except BadSdp as exc:
            self.log.warning("re-INVITE with bad SDP: %s", exc)
            tx.reply(488)
            return
        response = make_response(request, 200, to_tag=self.dialog.local_tag)
        response.contact = [self.agent.contact()]
        response.headers.set("Content-Type", SDP)
        response.body = answer.encode()
        tx.respond(response)
        self._invite_tx = tx
        held = self.media.remote is not None and self.media.remote.on_hold
        if held != self.held_by_remote:
            self.held_by_remote = held
            self.log.info("%s by the far end", "held" if held else "resumed")
            if self.on_hold is not None:
                self.on_hold(self, held)

    def _info(self, tx: ServerTransaction) -> None:
        request = tx.request
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = request.body.decode("utf-8", "replace")
        digit: str | None = None
        if content_type == "application/dtmf-relay":
            m = _DTMF_RELAY.search(body)
            digit = m.group(1).upper() if m else None
        elif content_type == "application/dtmf" and body.strip() in list("0123456789*#ABCDabcd"):
            digit = body.strip().upper()
        elif content_type and request.body:
            tx.reply(415)
            return
        tx.reply(200)
        if digit is not None:
            self._deliver_dtmf(digit)

    def _media_dtmf(self, digit: str) -> None:
        self._deliver_dtmf(digit)

    def _deliver_dtmf(self, digit: str) -> None:
        self.log.info("DTMF %s", digit)
        if self.on_dtmf is not None:
            self.on_dtmf(self, digit)

    # -- the end ----------------------------------------------------------------------------------

    def _finish(self, reason: str, code: int | None) -> None:
        if self.state == "ended":
            return
        if code is not None and self.sip_code is None:
            self.sip_code = code
        self.end_reason = reason
        self._set_state("ended")
        self.agent.forget(self)
        self.agent.keep(asyncio.ensure_future(self.media.close()))
        self.ended.set()
        if self.on_ended is not None:
            self.on_ended(self, reason, self.sip_code)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.log.info("state %s -> %s", self.state, state)
            self.state = state
