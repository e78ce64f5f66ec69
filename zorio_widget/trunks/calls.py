"""Trunk calls in the call layer: the originator that dials out, and the calls carriers place to DIDs.

Out: a destination routing does not know (no extension, route or service) is the trunk's when a
trunk of the caller's tenant takes it (``models.trunk_for_destination``: the longest matching
outbound prefix, or the tenant's only trunk); ``TrunkCalls.dial_out`` is then the originator of
that target kind (``Switchboard.originators[RouteKind.UNKNOWN]``, registered by ``runtime``): it
binds the leg's RTP port, offers the session a leg made of a ``TrunkParty`` and an ``RtpLeg``
(``CallSession.offer_to``), and the party's ``call.incoming`` sends the INVITE. A number no trunk
takes still ends ``failed``. An extension's call goes out, and a scenario's (``call_pstn``: the
admin's own code dials, showing the caller id it asked for when the trunk allows it); a trunk's
caller moved by a transfer is never relayed to another outside number (no open relay).

In: the user agent has checked the sender (a trunk's address or credentials) and that the number
is one of its DIDs; ``TrunkCalls.incoming`` resolves the DID's target in the trunk's tenant. A
target that is no extension, route or service is refused 404 (an inbound call reaches its DID's
target and nothing else: no open relay). The carrier's caller is the call's caller
(``call.incoming``'s ``from``/``from_name``), its record ``incoming``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async

from zorio_widget.calls.limits import CallLimits, limits_of
from zorio_widget.calls.models import CallRecord
from zorio_widget.calls.routing import RouteKind, resolve_route
from zorio_widget.calls.session import CallSession
from zorio_widget.calls.switchboard import Switchboard
from zorio_widget.calls.targets import fail_unknown
from zorio_widget.media.rtp import PortsExhausted, RtpLeg
from zorio_widget.sip import SipCall, TrunkBusy
from zorio_widget.tenants.models import Tenant

from .models import trunk_for_destination
from .party import TrunkParty
from .service import TrunkService

logger = logging.getLogger(__name__)


def _trunk_of(tenant_id: int, number: str) -> str | None:
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    trunk = trunk_for_destination(tenant, number) if tenant is not None else None
    return str(trunk.pk) if trunk is not None else None


def _requested_caller_id(uuid: Any) -> str:
    """The ``callerId`` the caller asked for (``call.create`` options, kept in the record's meta)."""
    meta = CallRecord.objects.filter(uuid=uuid).values_list("meta", flat=True).first() or {}
    value = meta.get("caller_id") if isinstance(meta, dict) else None
    return str(value)[:33] if value else ""


def _tenant_id(slug: str) -> int | None:
    return Tenant.objects.filter(slug=slug, enabled=True).values_list("pk", flat=True).first()


class TrunkCalls:
    """Trunk calls of this process: ``service`` is its SIP user agent, ``board`` its switchboard."""

    def __init__(self, service: TrunkService, board: Callable[[], Switchboard]) -> None:
        self.service = service
        self._board = board

    # -- out -------------------------------------------------------------------------------------

    async def dial_out(self, session: CallSession) -> None:
        """The originator of numbers routing does not know: through a trunk, or ``failed``."""
        caller, number = session.caller, session.route.number
        assert caller is not None
        if isinstance(caller.endpoint, TrunkParty):  # never from one trunk party to another number
            await fail_unknown(session)
            return
        trunk_id = await sync_to_async(_trunk_of, thread_sensitive=False)(session.tenant_id, number)
        if trunk_id is None:
            await fail_unknown(session)
            return
        try:
            call = await self.service.prepare(trunk_id, number)
        except TrunkBusy:
            logger.info("call %s: trunk %s has no free channel", session.uuid, trunk_id)
            await session.end("busy")
            return
        except (KeyError, ValueError, PortsExhausted) as exc:
            logger.warning("call %s: cannot dial %s through trunk %s: %r", session.uuid, number, trunk_id, exc)
            await session.end("failed")
            return
        requested = await sync_to_async(_requested_caller_id, thread_sensitive=False)(session.uuid)
        party = TrunkParty(call, session.tenant_id, session.board, RtpLeg(call.media),
                           caller_id=call.agent.config.caller_id_for(requested or None),
                           caller_name=caller.caller_name or caller.endpoint.name)
        party.wire()
        try:
            party.leg = await session.offer_to(party, party.media)
        except Exception:
            logger.exception("call %s: the trunk leg could not be offered the call", session.uuid)
            await call.hangup()
            await session.end("failed")
            return
        logger.info("call %s: %s dials %s through trunk %s as %s", session.uuid, caller.endpoint.number, number,
                    call.agent.config.name, party.caller_id)

    # -- in --------------------------------------------------------------------------------------

    def on_incoming(self, call: SipCall, target: str) -> None:
        """The user agent's ``on_incoming``: the DID's call becomes a session (a task of the board)."""
        self._board().spawn(self.incoming(call, target))

    async def incoming(self, call: SipCall, target: str) -> None:
        try:
            await self._incoming(call, target)
        except Exception:
            logger.exception("[sip call %s] inbound call to %s failed", call.id, target)
            call.reject(500)

    async def _incoming(self, call: SipCall, target: str) -> None:
        board = self._board()
        config = call.agent.config
        tenant_id = await sync_to_async(_tenant_id, thread_sensitive=False)(config.tenant)
        if tenant_id is None:
            call.reject(404)
            return
        route = await resolve_route(tenant_id, target)
        if route.kind == RouteKind.UNKNOWN:
            logger.info("[trunk %s] DID %s points at %r, which is no extension, route or service: 404",
                        config.name, call.local_number, target)
            call.reject(404)
            return
        if not board.accepting:
            call.reject(503)
            return
        limits = await limits_of(tenant_id)
        # The tenant's limit applies; the per-extension one does not: many outside callers may
        # share one number (a withheld or a company's), and the target's own limit is checked
        # when it rings (targets.py).
        slot_limits = CallLimits(limits.per_tenant, limits.per_tenant)
        refused = await board.take_slot(tenant_id, call.remote_number, slot_limits)
        if refused is not None:
            logger.info("[trunk %s] inbound call refused: %s", config.name, refused)
            call.reject(486)
            return
        if call.state == "ended":  # cancelled meanwhile
            board.give_slot(tenant_id, call.remote_number)
            return
        party = TrunkParty(call, tenant_id, board, RtpLeg(call.media))
        try:
            session = await CallSession.open(
                board, route, party, limits, caller_name=call.remote_name[:120],
                meta={"did": call.local_number, "trunk": config.name})
        except BaseException:
            board.give_slot(tenant_id, call.remote_number)
            raise
        party.leg = session.admit_caller(party, party.media, caller_name=call.remote_name[:120])
        party.wire()
        if call.state == "ended":
            await session.leg_gone(party.leg, answered_reason="cancelled")
            return
        logger.info("call %s: %s (%s) calls DID %s on trunk %s -> %s %s", session.uuid, call.remote_number,
                    call.remote_name, call.local_number, config.name, route.kind, route.number)
        await session.start()
