"""The WebSocket endpoint `/ws/webphone/`: authenticate, then parse, dispatch, reply.

The consumer is thin: frames are validated by `protocol.parse_frame`, dispatched through an
explicit map of message types (never `getattr` on client input), and the call layer
(`Switchboard`, `CallSession`) does the work, reached through the process's `Router`
(zorio_widget/cluster/router.py: this process's switchboard, or the process that owns the call in
a cluster, whose server messages arrive as `cluster.frames` channel-layer messages). Any
`ProtocolError` becomes an `error` frame and the connection and its other calls stay up.
"""

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.cluster.router import Router
from zorio_widget.cluster.runtime import get_router
from zorio_widget.protocol.messages import Frame, ProtocolError, parse_frame
from zorio_widget.scenarios.agents import AgentStateError, get_directory
from zorio_widget.signalling.access import CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED, AccessWatch, get_access_watch
from zorio_widget.signalling.ratelimit import TokenBucket
from zorio_widget.tenants.models import Extension
from zorio_widget.tenants.tokens import TokenClaims, TokenError, token_generator

logger = logging.getLogger(__name__)

AUTH_TIMEOUT_S = 10.0

Handler = Callable[["WebphoneConsumer", Frame], Awaitable[None]]


@database_sync_to_async
def _resolve_token(token: str) -> tuple[Extension, TokenClaims]:
    return token_generator.resolve(token)


class WebphoneConsumer(AsyncWebsocketConsumer):
    """One client connection; once authenticated it is a `Device` of its extension."""

    device_id: str
    tenant_id: int
    extension_id: int
    number: str
    name: str

    token_expires_at: float

    def __init__(self, *args: Any, board: Switchboard | None = None, access: AccessWatch | None = None,
                 router: Router | None = None, **kwargs: Any) -> None:
        """`board`, `access`, `router`: the switchboard (alone, without a cluster), access watch
        and router to use (`as_asgi(board=...)` in tests); the process's by default."""
        super().__init__(*args, **kwargs)
        self._injected_router = router or (Router(board) if board is not None else None)
        self._injected_access = access

    async def connect(self) -> None:
        self.device_id = "d" + secrets.token_hex(6)
        self.authenticated = False
        self.closed = False
        self.router: Router = self._injected_router or get_router()
        self.board: Switchboard = self.router.board
        self.access: AccessWatch = self._injected_access or get_access_watch()
        self.bucket = TokenBucket(settings.WS_RATE_PER_S, settings.WS_RATE_BURST)
        await self.accept()
        token = parse_qs(self.scope.get("query_string", b"").decode()).get("token", [""])[0]
        if token:
            await self._authenticate(token, None)
        else:
            self._auth_timer = asyncio.get_running_loop().call_later(AUTH_TIMEOUT_S, self._auth_timeout)

    def _auth_timeout(self) -> None:
        if not self.authenticated and not self.closed:
            asyncio.ensure_future(self.close(code=CLOSE_UNAUTHORIZED))

    async def disconnect(self, code: int) -> None:
        self.closed = True
        timer = getattr(self, "_auth_timer", None)
        if timer is not None:
            timer.cancel()
        if self.authenticated:
            logger.info("device %s (%s) disconnected: %s", self.device_id, self.number, code)
            self.access.forget(self)
            await self.router.unregister(self)

    async def send_frame(self, frame: dict[str, Any]) -> None:
        if self.closed:
            return
        try:
            await self.send(text_data=json.dumps({k: v for k, v in frame.items() if v is not None}))
        except Exception:  # the socket went away between our check and the write
            logger.debug("device %s: dropped %s", self.device_id, frame.get("type"))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame: Frame | None = None
        try:
            if not self.bucket.allow():
                raise ProtocolError("rate_limited")
            frame = parse_frame(text_data if text_data is not None else bytes_data,
                                max_bytes=settings.WS_MAX_FRAME_BYTES)
            if not self.authenticated and frame.type not in ("auth", "ping"):
                raise ProtocolError("unauthorized", "Send `auth` first.", req_id=frame.req_id)
            await HANDLERS[frame.type](self, frame)
        except ProtocolError as exc:
            await self.send_frame(exc.as_frame())
        except Exception:
            # A bug must cost one request, not the connection and every call on it.
            logger.exception("device %s: request failed", self.device_id)
            failed = ProtocolError("server_error", req_id=frame.req_id if frame else None,
                                   call_id=frame.call_id if frame else None)
            await self.send_frame(failed.as_frame())

    async def cluster_frames(self, message: dict[str, Any]) -> None:
        """Server messages about calls owned by another process (zorio_widget/cluster/remote.py)."""
        if self.authenticated:
            for frame in self.router.received(self, message):
                await self.send_frame(frame)

    # --- handlers -------------------------------------------------------------------------------

    async def _authenticate(self, token: str, req_id: str | None) -> None:
        if self.authenticated:
            raise ProtocolError("bad_request", "Already authenticated.", req_id=req_id)
        try:
            extension, claims = await _resolve_token(token)
        except TokenError as exc:
            await self.send_frame({"type": "error", "code": "unauthorized", "message": exc.message,
                                   "req_id": req_id})
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        origin = dict(self.scope.get("headers", [])).get(b"origin", b"").decode()
        if origin and not extension.tenant.allows_origin(origin):
            await self.send_frame({"type": "error", "code": "forbidden", "req_id": req_id,
                                   "message": f"Origin {origin} is not allowed for this tenant."})
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if not extension.number:
            await self.send_frame({"type": "error", "code": "forbidden", "req_id": req_id,
                                   "message": "The extension has no number (incomplete_sip_config)."})
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.tenant_id, self.extension_id = extension.tenant_id, extension.pk
        self.number, self.name = extension.number, extension.name
        self.token_expires_at = float(claims.expires_at)
        self.authenticated = True
        self.access.watch(self)
        timer = getattr(self, "_auth_timer", None)
        if timer is not None:
            timer.cancel()
        calls = await self.router.register(self)
        logger.info("device %s registered as %s (tenant %s)", self.device_id, self.number, self.tenant_id)
        user = {"username": extension.user.get_username() if extension.user else self.number,
                "display_name": self.name}
        await self.send_frame({"type": "registered", "extension": self.number, "user": user,
                               "calls": calls, "req_id": req_id})

    async def revoke(self, close_code: int, code: str, message: str) -> None:
        """The access watch found the token expired or the extension disabled: tell, then close.
        Connected calls wait out the re-attach grace like after any drop."""
        logger.info("device %s (%s): access revoked (%s)", self.device_id, self.number, code)
        await self.send_frame({"type": "error", "code": code, "message": message})
        await self.close(code=close_code)

    async def on_auth(self, frame: Frame) -> None:
        await self._authenticate(frame.data["token"], frame.req_id)

    async def on_ping(self, frame: Frame) -> None:
        await self.send_frame({"type": "pong", "req_id": frame.req_id})

    async def on_call_create(self, frame: Frame) -> None:
        await self.router.create_call(self, frame)

    async def on_agent_state(self, frame: Frame) -> None:
        """A queue agent's state (the softphone's agent tab): answered with `agent.state`, which its
        extension's other devices get too (on any process of a cluster)."""
        try:
            agent = await get_directory().set_state(self.tenant_id, self.number, frame.data["state"],
                                                    frame.data.get("queue"))
        except AgentStateError as exc:
            raise ProtocolError(exc.code, exc.message, req_id=frame.req_id) from exc
        for device in await self.board.devices_of(self.tenant_id, self.number):
            await device.send_frame({"type": "agent.state", **agent.as_message(),
                                     "req_id": frame.req_id if device is self else None})

    async def on_in_call(self, frame: Frame) -> None:
        """A request on one of this device's calls (answer, hang up, hold, transfer, ICE...)."""
        await self.router.on_leg(self, frame)


HANDLERS: dict[str, Handler] = {
    "auth": WebphoneConsumer.on_auth,
    "ping": WebphoneConsumer.on_ping,
    "call.create": WebphoneConsumer.on_call_create,
    "call.answer": WebphoneConsumer.on_in_call,
    "call.hangup": WebphoneConsumer.on_in_call,
    "call.reject": WebphoneConsumer.on_in_call,
    "ice.candidate": WebphoneConsumer.on_in_call,
    "ice.done": WebphoneConsumer.on_in_call,
    "call.hold": WebphoneConsumer.on_in_call,
    "call.unhold": WebphoneConsumer.on_in_call,
    "call.mute": WebphoneConsumer.on_in_call,
    "call.unmute": WebphoneConsumer.on_in_call,
    "call.dtmf": WebphoneConsumer.on_in_call,
    "call.transfer": WebphoneConsumer.on_in_call,
    "call.attended_transfer": WebphoneConsumer.on_in_call,
    "call.complete_transfer": WebphoneConsumer.on_in_call,
    "sdp.offer": WebphoneConsumer.on_in_call,
    "sdp.answer": WebphoneConsumer.on_in_call,
    "call.record": WebphoneConsumer.on_in_call,
    "call.message": WebphoneConsumer.on_in_call,
    "agent.state": WebphoneConsumer.on_agent_state,
}
