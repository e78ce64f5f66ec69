"""The transaction layer: parses what the transport delivers and matches it (RFC 3261 §17.1.3, §17.2.3).

- A response goes to the client transaction of its top Via branch and CSeq method; one that matches
  none (a 2xx retransmitted after the INVITE transaction ended) goes to ``TransactionUser.on_stray_response``.
- A request goes to the server transaction of its branch, sent-by and method (an ACK to its INVITE's);
  a new one gets a server transaction and ``on_request``; an ACK matching none is the ACK of a 2xx
  (``on_ack``); a CANCEL gets ``on_cancel`` with the INVITE it cancels, or 481 when none.
- Malformed messages never reach the TU: a request that can still be addressed gets the 400 of
  ``MalformedMessage``, anything else is dropped and logged.
- The top Via of every request gets ``received`` and, when asked for (RFC 3581), ``rport``; responses
  go back to the source address and port over UDP, on the same connection over TCP (§18.2.2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from sipmessage import URI, Request, Response, Via

from .message import MalformedMessage, encode, make_response, make_response_from_headers, new_tag, parse, top_via
from .timers import Timers
from .transaction import ClientTransaction, ServerTransaction, _Transaction
from .transport import Peer, SipTransport

logger = logging.getLogger(__name__)

_DUMMY_URI = URI.parse("sip:invalid")


class TransactionUser(Protocol):
    """What the layer calls above it (the user agent core)."""

    def on_request(self, tx: ServerTransaction) -> None:
        """A new request (not ACK, not CANCEL): answer it through ``tx``."""

    def on_ack(self, request: Request, peer: Peer) -> None:
        """An ACK that matched no transaction: the ACK of a 2xx, for a dialog."""

    def on_cancel(self, invite: ServerTransaction, cancel: ServerTransaction) -> None:
        """A CANCEL of ``invite`` (pending or not): the TU answers both."""

    def on_stray_response(self, response: Response, peer: Peer) -> None:
        """A response no client transaction wants (a 2xx retransmit: the dialog re-sends its ACK)."""


class TransactionLayer:
    """All live transactions of one transport."""

    def __init__(self, transport: SipTransport, tu: TransactionUser, timers: Timers | None = None) -> None:
        self.transport = transport
        self.tu = tu
        self.timers = timers or Timers()
        self.local_tag = new_tag()
        "To-tag of the stateless answers (400, 481) sent without a dialog."
        self.clients: dict[tuple[str, str], ClientTransaction] = {}
        self.servers: dict[tuple[str, str, str], ServerTransaction] = {}
        self.dropped = 0
        "Messages dropped as malformed (for tests and metrics)."
        transport.on_data = self.receive
        transport.on_error = self._transport_error

    # -- sending -------------------------------------------------------------------------------

    def send_request(self, request: Request, peer: Peer, on_response: Callable[[Response], None]) -> ClientTransaction:
        """Start a client transaction for ``request`` (not ACK: ``send_stateless``)."""
        tx = ClientTransaction(self, request, peer, on_response)
        self.clients[tx.key] = tx
        tx.start()
        return tx

    def send_stateless(self, message: Request | Response, peer: Peer) -> None:
        """A message outside any transaction: the ACK of a 2xx, a keep-alive."""
        self.transport.send(encode(message), peer)

    @staticmethod
    def response_peer(request: Request, peer: Peer) -> Peer:
        """Where responses to ``request`` go (RFC 3261 §18.2.2, RFC 3581 §4)."""
        if peer.reliable:
            return peer
        via = top_via(request)
        rport = via.parameters.get("rport")
        host = via.parameters.get("received") or via.host
        port = int(rport) if rport and rport.isdigit() else (via.port or 5060)
        return Peer("udp", host, port)

    # -- receiving -----------------------------------------------------------------------------

    def receive(self, data: bytes, peer: Peer) -> None:
        try:
            message = parse(data)
        except MalformedMessage as exc:
            self.dropped += 1
            logger.info("malformed message from %s: %s", peer, exc.reason)
            if exc.answer is not None and exc.headers is not None:
                self._answer_malformed(exc, peer)
            return
        if isinstance(message, Response):
            self._receive_response(message, peer)
        else:
            self._receive_request(message, peer)

    def _answer_malformed(self, exc: MalformedMessage, peer: Peer) -> None:
        assert exc.answer is not None and exc.headers is not None
        try:
            response = make_response_from_headers(exc.headers, exc.answer, f"Bad Request ({exc.reason[:60]})")
            if "\r" in response.phrase or "\n" in response.phrase:
                response.phrase = "Bad Request"
            request = Request("OPTIONS", _DUMMY_URI)
            request.headers.setlist("Via", exc.headers.getlist("Via"))
            self._mark_via(request, peer)
            response.headers.setlist("Via", request.headers.getlist("Via"))
            self.transport.send(encode(response), self.response_peer(request, peer))
        except (ValueError, KeyError, IndexError) as err:
            logger.info("could not answer a malformed message from %s: %s", peer, err)

    def _receive_response(self, response: Response, peer: Peer) -> None:
        via = top_via(response)
        key = (via.parameters.get("branch") or "", response.cseq.method)
        tx = self.clients.get(key)
        if tx is not None:
            tx.receive(response)
        else:
            self.tu.on_stray_response(response, peer)

    def _receive_request(self, request: Request, peer: Peer) -> None:
        self._mark_via(request, peer)
        via = top_via(request)
        branch = via.parameters.get("branch") or ""
        sender = f"{via.host.lower()}:{via.port or 5060}"
        method = request.method
        tx = self.servers.get((branch, sender, "INVITE" if method == "ACK" else method))
        if tx is not None:
            tx.receive(request)
            return
        if method == "ACK":
            self.tu.on_ack(request, peer)
            return
        new = ServerTransaction(self, request, peer)
        self.servers[new.key] = new
        if method == "CANCEL":
            invite = self.servers.get((branch, sender, "INVITE"))
            if invite is None:
                new.reply(481)
            else:
                self.tu.on_cancel(invite, new)
            return
        if method == "INVITE":
            new.respond(make_response(request, 100))
        self.tu.on_request(new)

    @staticmethod
    def _mark_via(request: Request, peer: Peer) -> None:
        """Add ``received`` (always: we answer to the packet's source) and fill ``rport``."""
        vias = request.via
        top = vias[0]
        changes: dict[str, str | None] = {"received": peer.host}
        if "rport" in top.parameters:
            changes["rport"] = str(peer.port)
        request.via = [Via(top.transport, top.host, top.port, top.parameters.replace(**changes)), *vias[1:]]

    # -- bookkeeping ---------------------------------------------------------------------------

    def _forget(self, tx: _Transaction) -> None:
        if isinstance(tx, ClientTransaction):
            if self.clients.get(tx.key) is tx:
                del self.clients[tx.key]
        elif isinstance(tx, ServerTransaction) and self.servers.get(tx.key) is tx:
            del self.servers[tx.key]

    def _transport_error(self, peer: Peer) -> None:
        for tx in [*self.clients.values(), *self.servers.values()]:
            if tx.peer == peer:
                tx.transport_failed()

    def close(self) -> None:
        for tx in [*self.clients.values(), *self.servers.values()]:
            tx.terminate()

