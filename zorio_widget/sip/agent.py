"""``TrunkAgent``: everything the user agent does for one trunk account.

It knows where the trunk is (its host resolved once per configuration, asynchronously), how we
address ourselves to it (Via, Contact: ``SIP_PUBLIC_ADDRESS``, else the address the trunk reaches),
its digest credentials, its registration (``Registerer``, when ``register`` is set) and its OPTIONS
keep-alive, and its live calls (``max_channels``). Calls (``call.SipCall``) send through it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from sipmessage import URI, Address, Parameters, Request, Response, Via

from .call import SipCall
from .config import TrunkConfig
from .dialog import Dialog
from .digest import DigestClient
from .message import is_local, new_branch, new_call_id, new_request, new_tag
from .registration import Registerer
from .transport import Peer

if TYPE_CHECKING:
    from .ua import UserAgent

logger = logging.getLogger(__name__)

KEEPALIVE_STATES: Final = ("unknown", "up", "down")


class TrunkBusy(RuntimeError):
    """The trunk's ``max_channels`` calls are in progress."""


class TrunkAgent:
    def __init__(self, ua: UserAgent, config: TrunkConfig) -> None:
        self.ua = ua
        self.config = config
        self.digest = DigestClient(config.username, config.password)
        self.digest_used = False
        "The trunk has challenged us: in-dialog requests carry credentials up front."
        self.peer = Peer(config.transport, config.host, config.port)
        "The trunk's address (its host resolved by ``resolve``)."
        self.addresses: set[str] = set()
        "Every IP the trunk's host resolved to: requests from them are the trunk's."
        self.calls: dict[str, SipCall] = {}
        self.registerer: Registerer | None = None
        self.keepalive_state = "unknown"
        self._tasks: set[asyncio.Future[None]] = set()
        self._keepalive: asyncio.Task[None] | None = None

    # -- life ---------------------------------------------------------------------------------------

    async def resolve(self) -> None:
        """Resolve the trunk's host (the admin's configuration: the only names we resolve)."""
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(self.config.host, self.config.port, type=socket.SOCK_DGRAM)
        except OSError as exc:
            logger.warning("[trunk %s] cannot resolve %s: %s", self.config.name, self.config.host, exc)
            return
        self.addresses = {str(info[4][0]) for info in infos}
        first = str(infos[0][4][0])
        self.peer = Peer(self.config.transport, first, self.config.port)

    def start(self) -> None:
        if self.config.register and self.registerer is None:
            self.registerer = Registerer(
                self, expires_s=self.config.register_expires_s,
                on_state=lambda state, detail: self.ua._trunk_state(self, "registration", state, detail),
                retry_min_s=self.ua.register_retry_s[0], retry_max_s=self.ua.register_retry_s[1],
            )
            self.registerer.start()
        if self.config.keepalive_s > 0 and self._keepalive is None:
            self._keepalive = asyncio.ensure_future(self._ping())

    async def retire(self) -> None:
        """The trunk was changed or removed: no more keep-alive or registration, but its calls
        in progress go on (``stop`` ends those too)."""
        if self._keepalive is not None:
            self._keepalive.cancel()
            try:
                await self._keepalive
            except asyncio.CancelledError:
                pass
            self._keepalive = None
        if self.registerer is not None:
            await self.registerer.stop()
            self.registerer = None

    async def stop(self) -> None:
        await self.retire()
        for call in list(self.calls.values()):
            await call.hangup()
        for task in list(self._tasks):
            try:
                await asyncio.wait_for(asyncio.shield(task), 2.0)
            except (TimeoutError, Exception):  # noqa: BLE001 - best effort at shutdown
                task.cancel()

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(self.config.keepalive_s)
            request = self._out_of_dialog("OPTIONS")
            response = await self.request(request)
            state = "down" if is_local(response) else "up"  # any answer, even 404, means it is there
            if state != self.keepalive_state:
                self.keepalive_state = state
                self.ua._trunk_state(self, "keepalive", state, f"{response.code} {response.phrase}")

    # -- addressing ---------------------------------------------------------------------------------

    @property
    def local_host(self) -> str:
        return self.ua.public_address or self.ua.transport.local_host_for(self.peer.host)

    @property
    def local_port(self) -> int:
        return self.ua.transport.port

    @property
    def user_agent(self) -> str:
        return self.ua.user_agent

    def via(self) -> Via:
        return Via(self.config.transport.upper(), self.local_host, self.local_port,
                   Parameters(branch=new_branch(), rport=None))

    def contact(self) -> Address:
        params = ";transport=tcp" if self.config.transport == "tcp" else ""
        user = self.config.username or "zorio"
        return Address.parse(f"<sip:{user}@{self.local_host}:{self.local_port}{params}>")

    def request_uri(self, number: str) -> URI:
        params = ";transport=tcp" if self.config.transport == "tcp" else ""
        port = f":{self.config.port}" if self.config.port != 5060 else ""
        return URI.parse(f"sip:{number}@{self.config.host}{port}{params}")

    def _out_of_dialog(self, method: str) -> Request:
        domain = self.config.uri_domain
        aor = f"sip:{self.config.username or 'zorio'}@{domain}"
        return new_request(method, URI.parse(f"sip:{domain}"), from_address=Address.parse(f"<{aor}>;tag={new_tag()}"),
                           to_address=Address.parse(f"<sip:{domain}>"), call_id=new_call_id(self.local_host), cseq=1,
                           via=self.via(), contact=self.contact(), user_agent=self.user_agent)

    # -- sending ------------------------------------------------------------------------------------

    def send(self, request: Request, on_response: Callable[[Response], None]) -> None:
        """A request to the trunk itself in a client transaction."""
        self.ua.layer.send_request(request, self.peer, on_response)

    async def request(self, request: Request) -> Response:
        """Send to the trunk and wait for the final response (a local 408/503 on failure)."""
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()

        def done(response: Response) -> None:
            if response.code >= 200 and not future.done():
                future.set_result(response)
        self.send(request, done)
        return await future

    async def peer_for(self, uri: URI) -> Peer:
        """Where a request to ``uri`` goes: an IP literal as is, the trunk's host as resolved,
        another name resolved asynchronously (a carrier's Contact)."""
        transport = (uri.parameters.get("transport") or self.config.transport).lower()
        transport = transport if transport in ("udp", "tcp") else self.config.transport
        port = uri.port or 5060
        host = uri.host.strip("[]")
        if host == self.config.host:
            return Peer(transport, self.peer.host, port if uri.port else self.peer.port)
        try:
            ipaddress.ip_address(host)
            return Peer(transport, host, port)
        except ValueError:
            pass
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        return Peer(transport, str(infos[0][4][0]), port)

    async def send_in_dialog(self, request: Request, dialog: Dialog, on_response: Callable[[Response], None]) -> None:
        try:
            peer = await self.peer_for(dialog.next_hop())
        except OSError as exc:
            logger.warning("[trunk %s] in-dialog %s: cannot resolve the target: %s", self.config.name,
                           request.method, exc)
            return
        self.ua.layer.send_request(request, peer, on_response)

    def send_to_target(self, request: Request, dialog: Dialog | None) -> None:
        """A stateless in-dialog request (the ACK of a 2xx)."""
        if dialog is None:
            return

        async def go() -> None:
            try:
                peer = await self.peer_for(dialog.next_hop())
            except OSError:
                return
            self.ua.layer.send_stateless(request, peer)
        self.keep(asyncio.ensure_future(go()))

    def keep(self, task: asyncio.Future[None]) -> None:
        """Hold a background task (a BYE, a media close) until it ends."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- calls --------------------------------------------------------------------------------------

    def check_capacity(self) -> None:
        if self.config.max_channels and len(self.calls) >= self.config.max_channels:
            raise TrunkBusy(f"trunk {self.config.name} has {len(self.calls)} of {self.config.max_channels} channels in use")

    def adopt(self, call: SipCall) -> None:
        self.calls[call.id] = call

    def forget(self, call: SipCall) -> None:
        self.calls.pop(call.id, None)
        self.ua._forget(call)
