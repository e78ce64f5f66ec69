"""The four transaction state machines of RFC 3261 §17 (with RFC 6026's Accepted states).

A transaction owns its request, its peer and its timers (``timers.py``); it retransmits over UDP
only and reports to its transaction user (TU) through callbacks. The layer that matches messages
to transactions is ``layer.py``.

Client side: ``on_response(response)`` gets every response the TU must see, and a synthesized
408 when Timer B/F fires or 503 when the transport fails (RFC 3261 §8.1.3.1). The ACK of a non-2xx
final response to an INVITE is sent here (§17.1.1.3); the ACK of a 2xx is the dialog's (§13.2.2.4).

Server side: the TU answers with ``respond(response)``. An INVITE gets 100 Trying at once. After a
2xx the transaction retransmits it (§13.3.1.4: T1 doubling up to T2) until the TU reports the ACK
(``ack_received()``: the 2xx ACK is a new request, matched by dialog) or Timer L/H ends it; then
``on_no_ack`` tells the TU (which must send BYE).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from sipmessage import Request, Response

from .message import encode, local_response, make_non2xx_ack, make_response, sent_by, top_via
from .transport import Peer

if TYPE_CHECKING:
    from .layer import TransactionLayer

logger = logging.getLogger(__name__)

CLIENT_INVITE_STATES: Final = ("calling", "proceeding", "accepted", "completed", "terminated")
CLIENT_STATES: Final = ("trying", "proceeding", "completed", "terminated")
SERVER_INVITE_STATES: Final = ("proceeding", "accepted", "completed", "confirmed", "terminated")
SERVER_STATES: Final = ("trying", "proceeding", "completed", "terminated")


class _Transaction:
    """Timers and the state logged ``old -> new``, common to the four machines."""

    kind = "transaction"

    def __init__(self, layer: TransactionLayer, request: Request, peer: Peer, state: str) -> None:
        self.layer = layer
        self.request = request
        self.peer = peer
        self.state = state
        self.branch = top_via(request).parameters.get("branch") or ""
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self.done = asyncio.get_running_loop().create_future()
        "Resolved when the transaction terminates."

    def __repr__(self) -> str:
        return f"<{self.kind} {self.request.method} {self.branch} {self.state}>"

    @property
    def reliable(self) -> bool:
        return self.peer.reliable

    def _timer(self, name: str) -> float:
        return self.layer.timers.value(name, self.reliable)

    def _start(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._stop(name)
        self._timers[name] = asyncio.get_running_loop().call_later(delay, self._fire, name, callback)

    def _fire(self, name: str, callback: Callable[[], None]) -> None:
        self._timers.pop(name, None)
        if self.state != "terminated":
            callback()

    def _stop(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    def _set_state(self, state: str) -> None:
        if state == self.state:
            return
        logger.debug("[%s %s] %s -> %s", self.kind, self.branch, self.state, state)
        self.state = state
        if state == "terminated":
            for handle in self._timers.values():
                handle.cancel()
            self._timers.clear()
            self.layer._forget(self)
            if not self.done.done():
                self.done.set_result(None)

    def terminate(self) -> None:
        self._set_state("terminated")

    def transport_failed(self) -> None:
        self.terminate()


class ClientTransaction(_Transaction):
    """INVITE (``invite=True``) or non-INVITE client transaction."""

    kind = "client"

    def __init__(
        self, layer: TransactionLayer, request: Request, peer: Peer, on_response: Callable[[Response], None]
    ) -> None:
        self.invite = request.method == "INVITE"
        super().__init__(layer, request, peer, "calling" if self.invite else "trying")
        self.on_response = on_response
        self.key = (self.branch, request.method)
        self.final: Response | None = None
        self._data = encode(request)
        self._interval = 0.0
        self._ack: bytes | None = None

    def start(self) -> None:
        self.layer.transport.send(self._data, self.peer)
        first, timeout = ("A", "B") if self.invite else ("E", "F")
        if not self.reliable:
            self._interval = self._timer(first)
            self._start(first, self._interval, self._retransmit)
        self._start(timeout, self._timer(timeout), self._timed_out)

    def _retransmit(self) -> None:
        if self.state not in ("calling", "trying", "proceeding"):
            return
        if self.invite and self.state != "calling":
            return
        self.layer.transport.send(self._data, self.peer)
        if self.invite:
            self._interval *= 2
        else:
            t2 = self.layer.timers.t2
            self._interval = t2 if self.state == "proceeding" else min(self._interval * 2, t2)
        self._start("A" if self.invite else "E", self._interval, self._retransmit)

    def _timed_out(self) -> None:
        if self.state in ("calling", "trying", "proceeding"):
            logger.info("[%s] %s to %s timed out", self.branch, self.request.method, self.peer)
            self._local_final(408)

    def transport_failed(self) -> None:
        if self.state in ("calling", "trying", "proceeding"):
            self._local_final(503)
        else:
            self.terminate()

    def _local_final(self, code: int) -> None:
        response = local_response(self.request, code)
        self.terminate()
        self.on_response(response)

    def receive(self, response: Response) -> None:
        code = response.code
        if self.invite:
            self._receive_invite(response, code)
        else:
            self._receive_non_invite(response, code)

    def _receive_invite(self, response: Response, code: int) -> None:
        state = self.state
        if state in ("calling", "proceeding"):
            if code < 200:
                self._stop("A")
                self._stop("B")
                self._set_state("proceeding")
                self.on_response(response)
            elif code < 300:
                self.final = response
                self._stop("A")
                self._stop("B")
                self._set_state("accepted")
                self._start("M", self._timer("M"), self.terminate)
                self.on_response(response)
            else:
                self.final = response
                self._stop("A")
                self._stop("B")
                self._send_ack(response)
                self._set_state("completed")
                self._start("D", self._timer("D"), self.terminate)
                self.on_response(response)
        elif state == "accepted" and 200 <= code < 300:
            self.on_response(response)  # a 2xx retransmit (or another fork's): the TU ACKs it
        elif state == "completed" and code >= 300 and self._ack is not None:
            self.layer.transport.send(self._ack, self.peer)

    def _send_ack(self, response: Response) -> None:
        """ACK of a non-2xx final response, inside the transaction (RFC 3261 §17.1.1.3)."""
        ack = make_non2xx_ack(self.request, response)
        self._ack = encode(ack)
        self.layer.transport.send(self._ack, self.peer)

    def _receive_non_invite(self, response: Response, code: int) -> None:
        if self.state not in ("trying", "proceeding"):
            return
        if code < 200:
            self._set_state("proceeding")
            self.on_response(response)
            return
        self.final = response
        self._stop("E")
        self._stop("F")
        self._set_state("completed")
        self._start("K", self._timer("K"), self.terminate)
        self.on_response(response)


class ServerTransaction(_Transaction):
    """INVITE or non-INVITE server transaction; the TU calls ``respond``."""

    kind = "server"

    def __init__(self, layer: TransactionLayer, request: Request, peer: Peer) -> None:
        self.invite = request.method == "INVITE"
        super().__init__(layer, request, peer, "proceeding" if self.invite else "trying")
        via = top_via(request)
        self.key = (self.branch, sent_by(via), request.method)
        self.last: Response | None = None
        self.on_no_ack: Callable[[ServerTransaction], None] | None = None
        "INVITE: called when no ACK came for the final response (Timer H or L)."
        self.on_cancelled: Callable[[], None] | None = None
        "INVITE: called once a CANCEL matched (the TU has answered 487 through ``respond`` by then)."
        self._data = b""
        self._interval = 0.0
        self._acked = False

    @property
    def answered(self) -> bool:
        """A final response was sent."""
        return self.last is not None and self.last.code >= 200

    def respond(self, response: Response) -> None:
        """Send a response; the transaction's state follows its code. Ignored once terminated or
        after a final response (a second final is a TU bug, logged)."""
        if self.state == "terminated" or self.answered:
            if self.state != "terminated":
                logger.warning("[%s] second final response %d dropped", self.branch, response.code)
            return
        code = response.code
        self.last = response
        self._data = encode(response)
        self._send()
        if code < 200:
            if not self.invite:
                self._set_state("proceeding")
            return
        if not self.invite:
            self._set_state("completed")
            self._start("J", self._timer("J"), self.terminate)
            return
        if code < 300:
            self._set_state("accepted")
            self._interval = self.layer.timers.t1
            if not self.reliable:
                self._start("G", self._interval, self._retransmit)
            self._start("L", self._timer("L"), self._no_ack)
        else:
            self._set_state("completed")
            if not self.reliable:
                self._interval = self._timer("G")
                self._start("G", self._interval, self._retransmit)
            self._start("H", self._timer("H"), self._no_ack)

    def reply(self, code: int, reason: str | None = None, *, to_tag: str | None = None) -> Response:
        """``respond`` with a plain response built from the request (returned for inspection)."""
        response = make_response(self.request, code, reason, to_tag=to_tag or self.layer.local_tag)
        self.respond(response)
        return response

    def _send(self) -> None:
        self.layer.transport.send(self._data, self.layer.response_peer(self.request, self.peer))

    def _retransmit(self) -> None:
        if self.state not in ("completed", "accepted") or self._acked:
            return
        self._send()
        self._interval = min(self._interval * 2, self.layer.timers.t2)
        self._start("G", self._interval, self._retransmit)

    def _no_ack(self) -> None:
        if self.state == "accepted" and self._acked:
            self.terminate()  # Timer L after an ACK: the normal end
            return
        logger.info("[%s] no ACK for %d", self.branch, self.last.code if self.last else 0)
        self.terminate()
        if self.on_no_ack is not None:
            self.on_no_ack(self)

    def ack_received(self) -> None:
        """The TU matched the ACK of our 2xx (a new request with its own branch)."""
        if self.state == "accepted":
            self._acked = True
            self._stop("G")

    def receive(self, request: Request) -> None:
        """A retransmission of our request, or (INVITE, non-2xx) its ACK."""
        if request.method == "ACK":
            if self.state == "completed":
                self._stop("G")
                self._stop("H")
                self._set_state("confirmed")
                self._start("I", self._timer("I"), self.terminate)
            return
        if self.state in ("proceeding", "completed") and self._data:
            self._send()  # the last provisional or the final response again
        # "trying" (nothing sent yet) and "accepted"/"confirmed": absorbed
