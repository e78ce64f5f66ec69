"""RFC 3261 §17 transactions between two real layers on loopback UDP/TCP, timers scaled down."""

from __future__ import annotations

import asyncio
import socket

from sipmessage import URI, Address, Parameters, Request, Response, Via

from tests.sip.conftest import FAST, LoseFirst, Node, wait_for
from zorio_widget.sip.message import encode, make_cancel, new_branch, new_request
from zorio_widget.sip.transaction import ServerTransaction


def request(method: str, to: Node, frm: Node, transport: str = "UDP", cseq: int = 1) -> Request:
    return new_request(
        method, URI.parse(f"sip:100@127.0.0.1:{to.transport.port}"),
        from_address=Address.parse(f"<sip:a@127.0.0.1:{frm.transport.port}>;tag=ft"),
        to_address=Address.parse("<sip:100@127.0.0.1>"), call_id="c1@test", cseq=cseq,
        via=Via(transport, "127.0.0.1", frm.transport.port, Parameters(branch=new_branch(), rport=None)),
        contact=Address.parse(f"<sip:a@127.0.0.1:{frm.transport.port}>"),
    )


class Responses(list[Response]):
    def __call__(self, response: Response) -> None:
        self.append(response)

    @property
    def codes(self) -> list[int]:
        return [r.code for r in self]


async def test_non_invite_answered_once_and_retransmit_absorbed(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    b.tu.answer = lambda tx: tx.reply(200)
    b.wire.drop = finals = LoseFirst(b"SIP/2.0 200")
    got = Responses()
    tx = a.layer.send_request(request("OPTIONS", b, a), b.peer(), got)
    await wait_for(lambda: got.codes == [200])
    assert len(b.tu.requests) == 1, "the retransmitted OPTIONS reached the TU"
    assert a.wire.lines().count(f"OPTIONS sip:100@127.0.0.1:{b.transport.port} SIP/2.0") >= 2
    assert finals.seen >= 2, "the server transaction resent its final response"
    assert tx.state == "completed"
    await asyncio.wait_for(tx.done, 2)  # Timer K


async def test_non_invite_timeout_gives_408_after_timer_f_with_capped_retransmits(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    got = Responses()
    loop = asyncio.get_running_loop()
    started = loop.time()
    a.layer.send_request(request("OPTIONS", b, a), b.peer(), got)
    await wait_for(lambda: got.codes == [408], within=5)
    elapsed = loop.time() - started
    assert FAST.value("F") * 0.9 <= elapsed <= FAST.value("F") + 1.0
    sends = len([line for line in a.wire.lines() if line.startswith("OPTIONS")])
    # 0, .02, .06, .14, then every T2=.08 up to 1.28 s: about 17 sends; never more often than T1
    assert 10 <= sends <= 20, sends
    assert len(b.tu.requests) == 1


async def test_invite_non_2xx_is_acked_inside_the_transaction(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    b.tu.answer = lambda tx: tx.reply(486)
    a.wire.drop = acks = LoseFirst(b"ACK ")
    got = Responses()
    a.layer.send_request(request("INVITE", b, a), b.peer(), got)
    await wait_for(lambda: b.tu.requests and b.tu.requests[0].state == "confirmed")
    assert got.codes == [100, 486], "a 486 retransmit must not reach the TU again"
    assert acks.seen >= 2, "the lost ACK was sent again when the 486 was retransmitted"
    assert b.tu.acks == [], "the ACK of a non-2xx belongs to the transaction, not the TU"
    ack = next(d for d in a.wire.sent if d.startswith(b"ACK"))
    assert b"CSeq: 1 ACK" in ack and b";tag=" in ack.split(b"\r\nTo:")[1].split(b"\r\n")[0]
    invite = next(d for d in a.wire.sent if d.startswith(b"INVITE"))
    branch = invite.split(b"branch=")[1].split(b";")[0].split(b"\r\n")[0]
    assert branch in ack, "the ACK of a non-2xx reuses the INVITE's branch"


async def test_invite_lost_once_is_retransmitted_by_timer_a(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    b.tu.answer = lambda tx: tx.reply(603)
    a.wire.drop = invites = LoseFirst(b"INVITE")
    got = Responses()
    a.layer.send_request(request("INVITE", b, a), b.peer(), got)
    await wait_for(lambda: 603 in got.codes)
    assert invites.seen == 2 and len(b.tu.requests) == 1


async def test_invite_2xx_is_retransmitted_until_the_tu_acks(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    server: list[ServerTransaction] = []
    no_ack: list[ServerTransaction] = []

    def answer(tx: ServerTransaction) -> None:
        server.append(tx)
        tx.on_no_ack = no_ack.append
        tx.reply(200)
    b.tu.answer = answer
    got = Responses()
    a.layer.send_request(request("INVITE", b, a), b.peer(), got)
    await wait_for(lambda: got.codes.count(200) >= 3)  # accepted: every retransmit reaches the TU
    ack = request("ACK", b, a)
    ack.headers.set("To", got[-1].headers["To"])
    a.layer.send_stateless(ack, b.peer())
    await wait_for(lambda: len(b.tu.acks) == 1)
    server[0].ack_received()
    count = got.codes.count(200)
    await asyncio.sleep(FAST.t2 * 3)
    assert got.codes.count(200) <= count + 1, "the 2xx kept being retransmitted after the ACK"
    await asyncio.wait_for(server[0].done, 3)  # Timer L
    assert no_ack == []


async def test_invite_2xx_without_ack_reports_no_ack(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    no_ack: list[ServerTransaction] = []

    def answer(tx: ServerTransaction) -> None:
        tx.on_no_ack = no_ack.append
        tx.reply(200)
    b.tu.answer = answer
    a.layer.send_request(request("INVITE", b, a), b.peer(), Responses())
    await wait_for(lambda: len(no_ack) == 1, within=5)


async def test_cancel_gets_200_and_the_invite_487_then_ack(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    got, cancelled = Responses(), Responses()
    invite = request("INVITE", b, a)
    a.layer.send_request(invite, b.peer(), got)
    await wait_for(lambda: got.codes == [100])
    a.layer.send_request(make_cancel(invite), b.peer(), cancelled)
    await wait_for(lambda: 487 in got.codes and cancelled.codes == [200])
    await wait_for(lambda: b.tu.requests[0].state in ("confirmed", "terminated"))
    assert len(b.tu.cancels) == 1


async def test_cancel_of_unknown_invite_gets_481(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    got = Responses()
    a.layer.send_request(make_cancel(request("INVITE", b, a)), b.peer(), got)
    await wait_for(lambda: got.codes == [481])


async def test_tcp_sends_once_and_answers_on_the_same_connection(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    b.tu.answer = lambda tx: tx.reply(200)
    got = Responses()
    tx = a.layer.send_request(request("OPTIONS", b, a, "TCP"), b.peer("tcp"), got)
    await wait_for(lambda: got.codes == [200])
    assert len([line for line in a.wire.lines() if line.startswith("OPTIONS")]) == 1
    assert b.tu.requests[0].peer.port != b.transport.port  # the client's ephemeral port
    await asyncio.wait_for(tx.done, 1)  # Timer K is 0 on TCP


def raw_exchange(node: Node, data: bytes, wait_s: float = 0.5) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(wait_s)
        s.sendto(data, ("127.0.0.1", node.transport.port))
        try:
            return s.recv(65536)
        except TimeoutError:
            return None


async def test_rport_answer_goes_to_the_source_port(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    b.tu.answer = lambda tx: tx.reply(200)
    req = request("OPTIONS", b, a)
    req.via = [Via("UDP", "192.0.2.1", 5999, Parameters(branch=new_branch(), rport=None))]
    reply = await asyncio.to_thread(raw_exchange, b, encode(req))
    assert reply is not None and reply.startswith(b"SIP/2.0 200")
    assert b"received=127.0.0.1" in reply and b"rport=" in reply
