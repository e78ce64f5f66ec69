"""What every SIP call has, whichever side sent the INVITE: its identity and state, its callbacks,
requests sent inside its dialog, DTMF delivery, and its end.

States (``CALL_STATES``): ``calling`` (our INVITE sent) or ``incoming`` (theirs received) →
``early`` (a provisional with a dialog) → ``confirmed`` → ``ended``; ``_set_state`` is the one
place they change (logged old -> new) and ``_finish`` the one way a call ends (its media closed,
the agent's channel freed, ``on_ended`` told the reason of ``END_REASONS``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Self

from sipmessage import Request, Response

from ...media.rtp import RtpSession
from ..dialog import Dialog
from ..digest import MAX_AUTH_ATTEMPTS
from ..transaction import ServerTransaction

if TYPE_CHECKING:
    from ..agent import TrunkAgent

logger = logging.getLogger(__name__)

CALL_STATES: Final = ("calling", "incoming", "early", "confirmed", "ended")
END_REASONS: Final[dict[int, str]] = {
    486: "busy", 600: "busy", 480: "no-answer", 408: "no-answer", 404: "failed", 484: "failed",
    603: "rejected", 487: "cancelled",
}
"SIP final codes → call end reasons (docs/DESIGN.md §4); other 4xx/5xx/6xx are ``failed``."
SDP: Final = "application/sdp"
X_HEADER: Final = re.compile(r"X-[A-Za-z0-9][A-Za-z0-9-]{0,63}")
"The extra headers a call may carry to the carrier: a scenario's `X-` headers (its answer, reject,"
" hangup, `call_pstn`), the same a browser gets in `call.incoming.headers` / `call.ended.headers`."


def add_x_headers(message: Request | Response, headers: Mapping[str, str] | None) -> None:
    """Puts `headers` on `message`: `X-` names with one-line values only (the scenario layer
    checked them; anything else is dropped here with a warning, never sent as a broken message)."""
    for name, value in (headers or {}).items():
        if X_HEADER.fullmatch(name) and isinstance(value, str) and not any(c in value for c in "\r\n\0"):
            message.headers.add(name, value)
        else:
            logger.warning("SIP: header %r not sent (only X- headers with one-line values)", name)


def end_reason(code: int) -> str:
    if code in END_REASONS:
        return END_REASONS[code]
    return "failed"


class _CallLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"[sip call {self.extra['call']}] {msg}", kwargs  # type: ignore[index]


class CallCore(ABC):
    """One call on one trunk; ``agent`` sends its messages and owns its media ports. The
    callbacks get the call itself (a ``SipCall``: ``Self``)."""

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
        self.on_progress: Callable[[Self, int, bool], None] | None = None
        self.on_answered: Callable[[Self], None] | None = None
        self.on_ended: Callable[[Self, str, int | None], None] | None = None
        self.on_hold: Callable[[Self, bool], None] | None = None
        self.on_dtmf: Callable[[Self, str], None] | None = None
        self.ended = asyncio.Event()
        self._invite: Request | None = None
        "Our INVITE (outbound; replaced by its retry with credentials) or theirs (inbound)."
        self._invite_tx: ServerTransaction | None = None
        self._ack: Request | None = None
        self._cancel_wanted = False
        self._cancel_sent = False
        self._auth_attempts = 0
        self._answer_sdp = ""
        "Inbound: our SDP answer to their offer (in the 183 of early media and the 200)."
        self._early_media = False
        self._reinvites = asyncio.Lock()
        """Held while we re-INVITE (with a glare retry's wait): ours go one at a time, so a hold then
        an unhold at once are both sent, in order."""
        self._offering = False
        "Our re-INVITE awaits its final response: a far-end re-INVITE now is glare (RFC 3261 §14.1)."
        self._pending_offer_in_answer = False
        "Inbound: our 200 to an offer-less re-INVITE carried an offer; the ACK brings the answer."
        self._answered = asyncio.Event()
        media.on_dtmf = self._media_dtmf

    def __repr__(self) -> str:
        return f"<SipCall {self.id} {self.direction} {self.state}>"

    @abstractmethod
    def _register_dialog(self) -> None:
        """The user agent routes the requests of ``dialog`` to this call from now on."""

    @abstractmethod
    def _forget(self) -> None:
        """The agent and the user agent let go of this call (its channel is free)."""

    def send_dtmf(self, digits: str) -> bool:
        """RFC 4733 events on the media; ``False`` when the far end did not negotiate them."""
        return self.media.send_dtmf(digits)

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

    def _send_bye(self, headers: Mapping[str, str] | None = None) -> None:
        if self.dialog is None:
            return
        request = self.dialog.create_request("BYE", self.agent.via(), user_agent=self.agent.user_agent)
        add_x_headers(request, headers)
        if self.agent.digest_used:
            self.agent.digest.authorize(request)
        task = asyncio.ensure_future(self.agent.send_in_dialog(request, self.dialog, lambda r: None))
        self.agent.keep(task)

    def _media_dtmf(self, digit: str) -> None:
        self._deliver_dtmf(digit)

    def _deliver_dtmf(self: Self, digit: str) -> None:
        self.log.info("DTMF %s", digit)
        if self.on_dtmf is not None:
            self.on_dtmf(self, digit)

    def _finish(self: Self, reason: str, code: int | None) -> None:
        if self.state == "ended":
            return
        if code is not None and self.sip_code is None:
            self.sip_code = code
        self.end_reason = reason
        self._set_state("ended")
        self._forget()
        self.agent.keep(asyncio.ensure_future(self.media.close()))
        self.ended.set()
        if self.on_ended is not None:
            self.on_ended(self, reason, self.sip_code)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.log.info("state %s -> %s", self.state, state)
            self.state = state
