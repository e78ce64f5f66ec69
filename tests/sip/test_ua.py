"""Two of our user agents calling each other on loopback: the whole stack, real sockets, real RTP."""

from __future__ import annotations

import asyncio

from tests.media.rtp.conftest import tone_payloads, tone_share
from tests.sip.conftest import Events, make_ua, wait_for
from zorio_widget.media.rtp import g711
from zorio_widget.sip import TrunkConfig


async def test_call_ring_answer_audio_hold_dtmf_and_bye_from_the_callee(pair) -> None:
    a, ae, b, be = pair
    call = ae.watch(await a.dial("t", "+84900"))
    await wait_for(lambda: be.incoming)
    incoming, target = be.incoming[0]
    assert target == "1001" and incoming.remote_number == "842800" and incoming.local_number == "+84900"
    incoming.ring()
    await wait_for(lambda: ("progress", 180, False) in ae.log)
    await incoming.answer()
    await wait_for(lambda: "answered" in ae.names() and incoming.acked)
    assert call.state == incoming.state == "confirmed" and call.sip_code == 200

    got: list[bytes] = []
    incoming.media.on_packet = lambda leg, packet: got.append(packet.payload)
    call.media.outbound.play_forwarded("x")
    for i, payload in enumerate(tone_payloads(1200, 0.6)):
        call.media.outbound.push("x", 1, 160 * i, payload)
        await asyncio.sleep(0.02)
    await wait_for(lambda: len(got) >= 25)
    assert tone_share(g711.decode("pcmu", b"".join(got)), 1200) > 0.8

    assert await call.hold()
    await wait_for(lambda: ("hold", True) in be.log)
    assert call.media.local_direction == "sendonly" and incoming.media.local_direction == "recvonly"
    assert await call.unhold()
    await wait_for(lambda: ("hold", False) in be.log)

    assert call.send_dtmf("5")
    await wait_for(lambda: ("dtmf", "5") in be.log)

    await incoming.hangup()
    await wait_for(lambda: ("ended", "hangup", 200) in ae.log)
    assert ("ended", "hangup", 200) in be.log
    await call.media.closed.wait()
    assert a.calls == {} and b.calls == {}


async def test_unknown_did_is_404_failed(pair) -> None:
    a, ae, b, be = pair
    ae.watch(await a.dial("t", "+84111"))
    await wait_for(lambda: "ended" in ae.names())
    assert ae.log[-1] == ("ended", "failed", 404) and be.incoming == []


async def test_reject_busy(pair) -> None:
    a, ae, b, be = pair
    ae.watch(await a.dial("t", "+84900"))
    await wait_for(lambda: be.incoming)
    be.incoming[0][0].reject(486)
    await wait_for(lambda: "ended" in ae.names())
    assert ae.log[-1] == ("ended", "busy", 486)


async def test_cancel_before_answer(pair) -> None:
    a, ae, b, be = pair
    call = ae.watch(await a.dial("t", "+84900"))
    await wait_for(lambda: be.incoming)
    be.incoming[0][0].ring()
    await wait_for(lambda: "progress" in ae.names())
    await call.hangup()
    await wait_for(lambda: ("ended", "cancelled", 487) in be.log)
    assert ae.log[-1][:2] == ("ended", "cancelled")


async def test_unknown_address_is_refused_unless_it_authenticates() -> None:
    b_events, c_events = Events(), Events()
    b = await make_ua("127.0.0.1", (41200, 41299), b_events)
    c = await make_ua("127.0.0.2", (41300, 41399), c_events)
    try:
        await b.set_trunks([TrunkConfig("p", "acme", "pbx", "192.0.2.77", 5060, keepalive_s=0,
                                        dids={"+84900": "1001"})])
        await c.set_trunks([TrunkConfig("x", "acme", "to-b", "127.0.0.1", b.port, keepalive_s=0)])
        c_events.watch(await c.dial("x", "+84900"))
        await wait_for(lambda: "ended" in c_events.names())
        assert c_events.log[-1] == ("ended", "failed", 403) and b_events.incoming == []
        # a trunk with credentials: the same stranger passes once it answers our challenge
        await b.set_trunks([TrunkConfig("p", "acme", "pbx", "192.0.2.77", 5060, keepalive_s=0, username="pbx1",
                                        password="s3cret", dids={"+84900": "1001"})])
        await c.set_trunks([TrunkConfig("x", "acme", "to-b", "127.0.0.1", b.port, keepalive_s=0, username="pbx1",
                                        password="wrong")])
        c_events.log.clear()
        c_events.watch(await c.dial("x", "+84900"))
        await wait_for(lambda: "ended" in c_events.names())
        assert c_events.log[-1] == ("ended", "failed", 403)
        await c.set_trunks([TrunkConfig("x", "acme", "to-b", "127.0.0.1", b.port, keepalive_s=0, username="pbx1",
                                        password="s3cret")])
        c_events.log.clear()
        c_events.watch(await c.dial("x", "+84900"))
        await wait_for(lambda: b_events.incoming)
        assert b_events.incoming[0][1] == "1001"
        await b_events.incoming[0][0].hangup()
    finally:
        await b.close()
        await c.close()


async def test_options_keepalive_reports_up_and_down() -> None:
    events = Events()
    a = await make_ua("127.0.0.1", (41400, 41499), events)
    b = await make_ua("127.0.0.1", (41500, 41599), Events())
    states: list[tuple[str, str, str]] = []
    a.on_trunk_state = lambda trunk_id, kind, state, detail: states.append((trunk_id, kind, state))
    try:
        await a.set_trunks([TrunkConfig("up", "acme", "b", "127.0.0.1", b.port, keepalive_s=0.1),
                            TrunkConfig("down", "acme", "void", "127.0.0.1", 9, keepalive_s=0.1)])
        await wait_for(lambda: ("up", "keepalive", "up") in states and ("down", "keepalive", "down") in states,
                       within=6)
    finally:
        await a.close()
        await b.close()


async def test_info_dtmf_relay_and_unsupported_requests(pair) -> None:
    a, ae, b, be = pair
    call = ae.watch(await a.dial("t", "+84900"))
    await wait_for(lambda: be.incoming)
    incoming = be.incoming[0][0]
    await incoming.answer()
    await wait_for(lambda: "answered" in ae.names() and incoming.acked)
    codes: list[int] = []

    async def send(method: str, body: bytes = b"", content_type: str | None = None) -> None:
        assert incoming.dialog is not None
        request = incoming.dialog.create_request(method, incoming.agent.via(), body=body, content_type=content_type)
        await incoming.agent.send_in_dialog(request, incoming.dialog,
                                            lambda r: codes.append(r.code) if r.code >= 200 else None)
    await send("INFO", b"Signal=7\r\nDuration=160\r\n", "application/dtmf-relay")
    await send("INFO", b"<xml/>", "application/xml")
    await send("SUBSCRIBE")
    await send("FOO")
    await wait_for(lambda: len(codes) == 4)
    assert sorted(codes) == [200, 405, 415, 501]
    assert ("dtmf", "7") in ae.log
    await call.hangup()
    await wait_for(lambda: "ended" in be.names())
