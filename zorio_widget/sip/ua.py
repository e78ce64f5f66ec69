"""``UserAgent``: the server's one SIP endpoint (``SIP_BIND``), shared by every trunk.

It binds the transport, runs the transaction layer and is its transaction user: it sends each
in-dialog request to its ``SipCall``, answers OPTIONS, refuses what it does not do (501 for unknown
methods, 405 with ``Allow`` for known ones we do not serve, 481 outside any dialog), and takes
inbound INVITEs: the sender must be a configured trunk's address, or authenticate with a trunk's
credentials (401 then 403); the Request-URI's number must be one of that trunk's DIDs (404); the
SDP must be usable (488). Only then is an ``RtpSession`` bound and ``on_incoming(call, target)``
called: the owner rings the DID's target and answers or rejects the call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Final

from sipmessage import Request, Response

from ..media.rtp import PortRange, PortsExhausted, RtpSession
from ..media.sdputil import BadSdp
from .agent import TrunkAgent, TrunkBusy
from .call import SipCall
from .config import TrunkConfig, is_number
from .digest import DigestServer
from .layer import TransactionLayer
from .message import make_response, tag_of
from .timers import Timers
from .transaction import ServerTransaction
from .transport import Peer, SipTransport

logger = logging.getLogger(__name__)

ALLOWED_METHODS: Final = ("INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO")
KNOWN_METHODS: Final = (*ALLOWED_METHODS, "REGISTER", "PRACK", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER",
                        "MESSAGE", "PUBLISH")
"Methods we recognise: those not allowed get 405, anything else 501 (RFC 3261 §8.2.1)."
AUTH_REALM: Final = "zorio"
REFRESH_MIN_S: Final = 1.0


class UserAgent:
    """The SIP endpoint and its trunks; see the package docstring for how the call layer uses it."""

    def __init__(
        self,
        host: str = "0.0.0.0",
        port: int = 5060,
        *,
        public_address: str = "",
        timers: Timers | None = None,
        rtp_ports: PortRange | None = None,
        user_agent: str = "Zorio",
        media_timeout_s: float = 30.0,
        register_retry_s: tuple[float, float] = (5.0, 300.0),
        on_incoming: Callable[[SipCall, str], None] | None = None,
        on_trunk_state: Callable[[str, str, str, str], None] | None = None,
    ) -> None:
        """
        :param public_address: announced in Via, Contact and SDP (``SIP_PUBLIC_ADDRESS``); empty: the
            bound host, or the address each trunk reaches us on when bound to all (docs/DESIGN.md §7b).
        :param on_incoming: ``(call, target)`` for each acceptable inbound INVITE.
        :param on_trunk_state: ``(trunk_id, kind, state, detail)``; kind ``registration`` or ``keepalive``.
        """
        self.host, self.port = host, port
        self.public_address = public_address
        self.user_agent = user_agent
        self.rtp_ports = rtp_ports or PortRange()
        self.media_timeout_s = media_timeout_s
        self.register_retry_s = register_retry_s
        self.on_incoming = on_incoming
        self.on_trunk_state = on_trunk_state
        self.refresh: Callable[[], Awaitable[None]] | None = None
        """Re-reads the trunks (``set_trunks``), awaited before an INVITE is taken (at most once per
        ``REFRESH_MIN_S``): a trunk or DID added, changed or removed by another process of the
        server (the admin, ``add_trunk``) applies to the next inbound call too."""
        self._refreshed_at = -REFRESH_MIN_S
        self._retired: set[TrunkAgent] = set()
        "Agents of trunks changed or removed, kept while calls they started go on."
        self.transport = SipTransport(lambda data, peer: None)
        self.layer = TransactionLayer(self.transport, self, timers)
        self.agents: dict[str, TrunkAgent] = {}
        self.calls: dict[tuple[str, str, str], SipCall] = {}
        self.auth = DigestServer(AUTH_REALM)
        self.allow = ", ".join(ALLOWED_METHODS)
        self._started = False

    # -- life ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.transport.start(self.host, self.port)
        self.port = self.transport.port
        self._started = True
        for agent in self.agents.values():
            await agent.resolve()
            agent.start()

    async def close(self) -> None:
        for agent in [*self.agents.values(), *self._retired]:
            await agent.stop()
        self._retired.clear()
        self.layer.close()
        await self.transport.close()

    async def set_trunks(self, configs: Iterable[TrunkConfig]) -> None:
        """Apply the trunks' configuration: new ones start, removed ones stop, changed ones restart
        their registration; calls in progress keep the agent they started with."""
        wanted = {c.id: c for c in configs}
        for trunk_id in list(self.agents):
            agent = self.agents[trunk_id]
            if trunk_id not in wanted or wanted[trunk_id] != agent.config:
                del self.agents[trunk_id]
                await agent.retire()
                if agent.calls:  # they go on with it; it is forgotten when the last one ends
                    self._retired.add(agent)
        for trunk_id, config in wanted.items():
            if trunk_id not in self.agents:
                agent = TrunkAgent(self, config)
                self.agents[trunk_id] = agent
                if self._started:
                    await agent.resolve()
                    agent.start()

    # -- outbound -----------------------------------------------------------------------------------

    async def dial(self, trunk_id: str, number: str, *, caller_id: str | None = None, caller_name: str = "") -> SipCall:
        """Place a call through a trunk; returns at once with the INVITE sent (``SipCall`` callbacks
        follow). ``KeyError``: unknown trunk; ``TrunkBusy``; ``PortsExhausted``; ``ValueError``: not a number."""
        call = await self.prepare(trunk_id, number)
        call.start_outbound(number, call.agent.config.caller_id_for(caller_id), caller_name)
        return call

    async def prepare(self, trunk_id: str, number: str, *, leg_id: str | None = None) -> SipCall:
        """``dial`` in two steps, for a caller that needs the call's media before the INVITE goes
        (the call layer offers a leg its media first): the channel is taken and the RTP port bound,
        ``call.start_outbound(...)`` sends the INVITE, ``hangup()`` gives both back. ``leg_id`` names
        the media (the bridge's id of the leg). Raises as ``dial``."""
        if not is_number(number):
            raise ValueError(f"{number!r} is not a dialable number")
        agent = self.agents[trunk_id]
        agent.check_capacity()
        media = await self._media(agent, leg_id)
        call = SipCall(agent, media, "outbound")
        call.remote_number = number
        agent.adopt(call)
        return call

    async def _media(self, agent: TrunkAgent, leg_id: str | None = None) -> RtpSession:
        local = agent.local_host
        bind = "0.0.0.0" if self.transport.host in ("0.0.0.0", "") else self.transport.host
        media = RtpSession(self.rtp_ports, local_address=local, bind_host=bind, media_timeout_s=self.media_timeout_s,
                           leg_id=leg_id)
        await media.open()
        return media

    # -- the transaction user -----------------------------------------------------------------------

    def on_request(self, tx: ServerTransaction) -> None:
        request = tx.request
        method = request.method
        if method not in KNOWN_METHODS:
            tx.reply(501)
            return
        if tag_of(request.to_address):
            call = self._call_of(request)
            if call is None:
                tx.reply(481)
            else:
                call.receive_request(tx)
            return
        if method == "OPTIONS":
            response = make_response(request, 200, to_tag=self.layer.local_tag)
            response.headers.set("Allow", self.allow)
            response.headers.set("Accept", "application/sdp")
            tx.respond(response)
            return
        if method in ("BYE", "INFO"):
            tx.reply(481)  # only meaningful inside a dialog we do not have
            return
        if method != "INVITE":
            response = make_response(request, 405, to_tag=self.layer.local_tag)
            response.headers.set("Allow", self.allow)
            tx.respond(response)
            return
        asyncio.ensure_future(self._inbound(tx))

    def _call_of(self, request: Request) -> SipCall | None:
        local, remote = tag_of(request.to_address) or "", tag_of(request.from_address) or ""
        return self.calls.get((request.call_id, local, remote))

    def on_ack(self, request: Request, peer: Peer) -> None:
        call = self._call_of(request)
        if call is not None:
            call.received_ack(request)

    def on_cancel(self, invite: ServerTransaction, cancel: ServerTransaction) -> None:
        cancel.reply(200)
        if not invite.answered:
            invite.reply(487, to_tag=self._local_tag_of(invite))
            if invite.on_cancelled is not None:
                invite.on_cancelled()

    def _local_tag_of(self, invite: ServerTransaction) -> str | None:
        for call in self.calls.values():
            if call._invite is invite.request and call.dialog is not None:
                return call.dialog.local_tag
        return None

    def on_stray_response(self, response: Response, peer: Peer) -> None:
        if response.cseq.method == "INVITE" and 200 <= response.code < 300:
            for agent in self.agents.values():
                for call in agent.calls.values():
                    if call._invite is not None and call._invite.call_id == response.call_id:
                        call._invite_response(response)
                        return

    # -- inbound ------------------------------------------------------------------------------------

    async def _inbound(self, tx: ServerTransaction) -> None:
        request = tx.request
        try:
            await self._refresh_for(tx)
            agent = self._authorise(tx)
            if agent is None:
                return
            number = request.uri.user or request.to_address.uri.user or ""
            target = agent.config.target_for(number)
            if target is None:
                logger.info("[trunk %s] INVITE to unknown DID %r: 404", agent.config.name, number)
                tx.reply(404)
                return
            if not request.body:
                tx.reply(488, "Offer Required")
                return
            try:
                agent.check_capacity()
            except TrunkBusy:
                tx.reply(486)
                return
            try:
                media = await self._media(agent)
            except PortsExhausted:
                tx.reply(503)
                return
            try:
                answer = media.accept_offer(request.body.decode("utf-8", "replace"))
            except BadSdp as exc:
                logger.info("[trunk %s] INVITE with unusable SDP: %s", agent.config.name, exc)
                await media.close()
                tx.reply(488)
                return
            if tx.answered:  # cancelled while the port was bound
                await media.close()
                return
            call = SipCall(agent, media, "inbound")
            call.start_inbound(tx, answer, number)
            agent.adopt(call)
            assert call.dialog is not None
            self.calls[call.dialog.id] = call
            if self.on_incoming is None:
                call.reject(480)
                return
            self.on_incoming(call, target)
        except Exception:
            logger.exception("inbound INVITE failed")
            if not tx.answered:
                tx.reply(500)

    async def _refresh_for(self, tx: ServerTransaction) -> None:
        """Re-read the trunks before taking an INVITE, at most once per ``REFRESH_MIN_S``: a trunk
        or DID changed by another process applies to the next call."""
        now = asyncio.get_running_loop().time()
        if self.refresh is None or now - self._refreshed_at < REFRESH_MIN_S:
            return
        self._refreshed_at = now
        try:
            await self.refresh()
        except Exception:
            logger.exception("refreshing the trunks failed")

    def _authorise(self, tx: ServerTransaction) -> TrunkAgent | None:
        """The trunk an out-of-dialog request comes from, by address or by digest; else 401/403."""
        request = tx.request
        number = request.uri.user or ""
        by_address = [a for a in self.agents.values() if tx.peer.host in a.addresses]
        if by_address:
            return next((a for a in by_address if a.config.target_for(number) is not None), by_address[0])
        by_user = {a.config.username: a for a in self.agents.values() if a.config.username and a.config.password}
        username, stale = self.auth.verify(request, lambda u: by_user[u].config.password if u in by_user else None)
        if username is not None:
            return by_user[username]
        if request.headers.get("Authorization") and not stale:
            logger.info("refused %s from %s: bad credentials", request.method, tx.peer)
            tx.reply(403)
            return None
        if not by_user:
            logger.info("refused %s from %s: not a trunk's address", request.method, tx.peer)
            tx.reply(403)
            return None
        tx.respond(self.auth.challenge(make_response(request, 401, to_tag=self.layer.local_tag), stale=stale))
        return None

    # -- bookkeeping --------------------------------------------------------------------------------

    def register_dialog(self, call: SipCall) -> None:
        if call.dialog is not None:
            self.calls[call.dialog.id] = call

    def _forget(self, call: SipCall) -> None:
        if call.dialog is not None:
            self.calls.pop(call.dialog.id, None)
        if call.agent in self._retired and not call.agent.calls:
            self._retired.discard(call.agent)

    def _trunk_state(self, agent: TrunkAgent, kind: str, state: str, detail: str) -> None:
        if self.on_trunk_state is not None:
            try:
                self.on_trunk_state(agent.config.id, kind, state, detail)
            except Exception:
                logger.exception("trunk state callback failed")
