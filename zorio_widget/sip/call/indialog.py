"""A confirmed call's dialog: our re-INVITEs (hold, unhold) and the far end's requests inside it.

``hold()``/``unhold()`` re-INVITE with ``sendonly``/``sendrecv`` (a 491 glare is retried once,
RFC 3261 §14.1); a re-INVITE from the far end is answered from ``media`` and reported as
``on_hold(call, held)``; INFO ``dtmf-relay``/``dtmf`` reaches ``on_dtmf`` like RFC 4733 events;
a BYE ends the call ``hangup``; OPTIONS is answered; any other method we know gets 405.
"""

from __future__ import annotations

import asyncio
import random
import re
from typing import Final, Self

from sipmessage import Request, Response

from ...media.sdputil import BadSdp
from ..message import make_response
from ..transaction import ServerTransaction
from .core import SDP, CallCore

GLARE_RETRY_S: Final = {"outbound": (2.1, 4.0), "inbound": (0.0, 2.0)}
"""RFC 3261 §14.1: after a 491 the owner of the Call-ID (we placed the call) retries after 2.1-4 s,
the other end within 2 s; the windows do not overlap, so the two retries do not meet again."""
_DTMF_RELAY = re.compile(r"^\s*signal\s*=\s*([0-9*#A-Da-d])\s*$", re.IGNORECASE | re.MULTILINE)


class InDialog(CallCore):
    """What happens inside the call's dialog once it is confirmed, from either side."""

    async def hold(self) -> bool:
        """Put the far end on hold (re-INVITE ``sendonly``: it hears what we send, e.g. music)."""
        return await self._reinvite("sendonly")

    async def unhold(self) -> bool:
        return await self._reinvite("sendrecv")

    async def _reinvite(self, direction: str) -> bool:
        """Sends `direction` once our previous re-INVITE is done: a second one asked for meanwhile
        (an agent's quick hold and unhold) waits for it instead of being dropped. While one is in
        flight a re-INVITE from the far end is glare (491); while we wait to retry after a 491 it is
        not: the far end's retry is what the wait is for."""
        async with self._reinvites:
            if self.state != "confirmed" or self.dialog is None:
                return False
            for attempt in range(2):
                self._offering = True
                try:
                    response = await self._in_dialog("INVITE", self.media.create_offer(direction).encode(), SDP)
                finally:
                    self._offering = False
                if response.code == 491 and attempt == 0:
                    await asyncio.sleep(random.uniform(*GLARE_RETRY_S[self.direction]))
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

    def _remote_reinvite(self: Self, tx: ServerTransaction) -> None:
        assert self.dialog is not None
        if self.state != "confirmed":
            tx.reply(491 if self.state == "early" else 481)
            return
        if self._offering:  # glare: our own re-INVITE is in flight
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
