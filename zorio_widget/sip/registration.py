"""Outbound REGISTER for a trunk account (RFC 3261 §10), kept alive while the agent runs.

One Call-ID and From tag for the binding's life, the CSeq growing with each REGISTER. A 401/407 is
answered with digest credentials (``MAX_AUTH_ATTEMPTS``); 423 takes the registrar's Min-Expires.
The binding is refreshed at ``REFRESH_AT`` of the granted expiry; a failure (an error response, a
timeout, a transport error) is reported and retried after a backoff that doubles from
``retry_min_s`` to ``retry_max_s``. ``stop()`` removes the binding (``Expires: 0``), best effort.

States (``REGISTRATION_STATES``) go to ``on_state(state, detail)``: the trunk's status in the admin.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from sipmessage import URI, Address, Response

from .digest import MAX_AUTH_ATTEMPTS
from .message import new_call_id, new_request, new_tag

if TYPE_CHECKING:
    from .agent import TrunkAgent

logger = logging.getLogger(__name__)

REGISTRATION_STATES: Final = ("unregistered", "registering", "registered", "failed")
REFRESH_AT: Final = 0.8
"Refresh when this share of the granted expiry has passed."
MIN_REFRESH_S: Final = 1.0
UNREGISTER_WAIT_S: Final = 2.0


class Registerer:
    def __init__(
        self, agent: TrunkAgent, *, expires_s: int, on_state: Callable[[str, str], None],
        retry_min_s: float = 5.0, retry_max_s: float = 300.0,
    ) -> None:
        self.agent = agent
        self.expires_s = expires_s
        self.on_state = on_state
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.state = "unregistered"
        self.granted_s = 0
        self.registrations = 0
        "Successful REGISTERs so far (refreshes included)."
        self._call_id = new_call_id(agent.local_host)
        self._tag = new_tag()
        self._cseq = 0
        self._task: asyncio.Task[None] | None = None
        self._backoff = retry_min_s

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if self.state == "registered":
            try:
                await asyncio.wait_for(self._register(0), UNREGISTER_WAIT_S)
            except (TimeoutError, OSError):
                pass
        self._set_state("unregistered", "")

    async def _run(self) -> None:
        while True:
            self._set_state("registering", "")
            response = await self._register(self.expires_s)
            if 200 <= response.code < 300:
                self.granted_s = self._granted(response)
                self.registrations += 1
                self._backoff = self.retry_min_s
                self._set_state("registered", f"expires in {self.granted_s} s")
                await asyncio.sleep(max(MIN_REFRESH_S, self.granted_s * REFRESH_AT))
                continue
            detail = f"{response.code} {response.phrase}"
            self._set_state("failed", f"{detail}; retry in {self._backoff:.0f} s")
            await asyncio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, self.retry_max_s)

    async def _register(self, expires: int) -> Response:
        """One REGISTER, with credentials when challenged and Min-Expires when too brief."""
        config = self.agent.config
        attempts = 0
        while True:
            self._cseq += 1
            aor = f"sip:{config.username or 'zorio'}@{config.uri_domain}"
            request = new_request(
                "REGISTER", URI.parse(f"sip:{config.uri_domain}"), from_address=Address.parse(f"<{aor}>;tag={self._tag}"),
                to_address=Address.parse(f"<{aor}>"), call_id=self._call_id, cseq=self._cseq, via=self.agent.via(),
                contact=self.agent.contact(), user_agent=self.agent.user_agent,
            )
            request.expires = expires
            self.agent.digest.authorize(request)  # a known nonce is reused (next nc): no new 401 per refresh
            response = await self.agent.request(request)
            if response.code in (401, 407) and attempts < MAX_AUTH_ATTEMPTS and self.agent.digest.learn(response):
                attempts += 1
                continue
            if response.code == 423 and response.min_expires and response.min_expires > expires and attempts < 3:
                expires = self.expires_s = response.min_expires
                attempts += 1
                continue
            return response  # a timeout is a local 408 (RFC 3261 §8.1.3.1)

    def _granted(self, response: Response) -> int:
        ours = self.agent.contact().uri
        for contact in response.contact:
            if contact.uri.host == ours.host and contact.uri.port == ours.port:
                value = contact.parameters.get("expires")
                if value and value.isdigit():
                    return int(value)
        return response.expires if response.expires is not None else self.expires_s

    def _set_state(self, state: str, detail: str) -> None:
        if state != self.state:
            logger.info("[trunk %s] registration %s -> %s %s", self.agent.config.name, self.state, state, detail)
        self.state = state
        self.on_state(state, detail)
