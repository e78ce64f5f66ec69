"""A SIP dialog (RFC 3261 §12): the state two user agents share for one call.

Its id is (Call-ID, local tag, remote tag). It holds both CSeq counters, the remote target (the
far end's Contact, refreshed by re-INVITEs and their 2xx) and the route set (Record-Route: reversed
on the UAC side, as is on the UAS side). In-dialog requests are built here (§12.2.1.1): Request-URI
the remote target, Route the route set (a strict-routing first hop, without ``;lr``, becomes the
Request-URI and the target goes last), and ``next_hop`` says where to send them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sipmessage import URI, Address, CSeq, Parameters, Request, Response, Via

from .message import new_branch, new_request, tag_of


class DialogError(ValueError):
    pass


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_address: Address
    "Our From (UAC) or To (UAS) address, with our tag."
    remote_address: Address
    remote_target: URI
    route_set: list[Address] = field(default_factory=list)
    local_seq: int = 0
    remote_seq: int | None = None
    contact: Address | None = None
    "Our Contact, put in target-refresh requests."

    @property
    def id(self) -> tuple[str, str, str]:
        return self.call_id, self.local_tag, self.remote_tag

    @classmethod
    def from_uac(cls, request: Request, response: Response) -> Dialog:
        """The dialog a 1xx-with-tag or 2xx to our INVITE creates (§12.1.2)."""
        remote_tag = tag_of(response.to_address)
        local_tag = tag_of(request.from_address)
        if not remote_tag or not local_tag:
            raise DialogError("a dialog needs both tags")
        contacts = response.contact
        if not contacts and response.code < 300 and response.code >= 200:
            raise DialogError("2xx without Contact")
        target = contacts[0].uri if contacts else request.uri
        return cls(
            call_id=request.call_id, local_tag=local_tag, remote_tag=remote_tag,
            local_address=request.from_address, remote_address=response.to_address, remote_target=target,
            route_set=list(reversed(response.record_route)), local_seq=request.cseq.sequence,
            contact=request.contact[0] if request.contact else None,
        )

    @classmethod
    def from_uas(cls, request: Request, local_tag: str, contact: Address) -> Dialog:
        """The dialog our answer to an INVITE creates (§12.1.1)."""
        remote_tag = tag_of(request.from_address)
        contacts = request.contact
        if not remote_tag or not contacts:
            raise DialogError("an INVITE must have a From tag and a Contact")
        to = request.to_address
        local = Address(to.uri, to.name, to.parameters.replace(tag=local_tag))
        return cls(
            call_id=request.call_id, local_tag=local_tag, remote_tag=remote_tag,
            local_address=local, remote_address=request.from_address, remote_target=contacts[0].uri,
            route_set=list(request.record_route), local_seq=0, remote_seq=request.cseq.sequence, contact=contact,
        )

    def update_target(self, message: Request | Response) -> None:
        """A target refresh (re-INVITE or its 2xx) with a Contact moves the remote target."""
        contacts = message.contact
        if contacts:
            self.remote_target = contacts[0].uri

    def accept_remote_cseq(self, request: Request) -> bool:
        """Check an in-dialog request's CSeq (§12.2.2): lower than the last one is out of order."""
        seq = request.cseq.sequence
        if self.remote_seq is not None and seq < self.remote_seq and request.method not in ("ACK", "CANCEL"):
            return False
        if request.method not in ("ACK", "CANCEL"):
            self.remote_seq = seq
        return True

    def _uri_and_routes(self) -> tuple[URI, list[Address]]:
        if self.route_set and "lr" not in self.route_set[0].uri.parameters:
            strict = self.route_set[0]  # §12.2.1.1: a strict router takes the Request-URI
            return strict.uri, [*self.route_set[1:], Address(self.remote_target)]
        return self.remote_target, list(self.route_set)

    def next_hop(self) -> URI:
        """Where an in-dialog request goes first: the first route, or the remote target."""
        return self.route_set[0].uri if self.route_set else self.remote_target

    def create_request(
        self, method: str, via: Via, *, body: bytes = b"", content_type: str | None = None,
        cseq: int | None = None, user_agent: str = "",
    ) -> Request:
        """An in-dialog request; CSeq grows by one except for ACK/CANCEL (given ``cseq``)."""
        if cseq is None:
            self.local_seq += 1
            cseq = self.local_seq
        uri, routes = self._uri_and_routes()
        request = new_request(
            method, uri, from_address=self.local_address, to_address=self.remote_address,
            call_id=self.call_id, cseq=cseq, via=via, route=routes,
            contact=self.contact if method in ("INVITE", "UPDATE") else None,
            body=body, content_type=content_type, user_agent=user_agent,
        )
        return request

    def create_ack(self, invite_cseq: int, via_host: str, via_port: int, transport: str, body: bytes = b"",
                   content_type: str | None = None) -> Request:
        """The ACK of a 2xx (§13.2.2.4): a new transaction-less request with its own branch."""
        via = Via(transport.upper(), via_host, via_port, Parameters(branch=new_branch(), rport=None))
        request = self.create_request("ACK", via, body=body, content_type=content_type, cseq=invite_cseq)
        request.cseq = CSeq(invite_cseq, "ACK")
        return request
