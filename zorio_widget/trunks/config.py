"""Between the ``Trunk`` model and the SIP user agent: configs out, registration state in.

``trunk_configs()`` is read again whenever trunks change, so a trunk added or edited while the
server runs applies to the next call without a restart (docs/DESIGN.md §7b).
"""

from __future__ import annotations

from django.utils import timezone

from zorio_widget.sip.config import TrunkConfig

from .models import Trunk


def trunk_config(trunk: Trunk) -> TrunkConfig:
    return TrunkConfig(
        id=str(trunk.pk), tenant=trunk.tenant.slug, name=trunk.name, host=trunk.host, port=trunk.port,
        transport=trunk.transport, username=trunk.username, password=trunk.password, register=trunk.register,
        outbound_prefixes=tuple(trunk.prefixes), dids={d.number: d.target for d in trunk.dids.all()},
        caller_ids=tuple(trunk.allowed_caller_ids), default_caller_id=trunk.default_caller_id,
        max_channels=trunk.max_channels,
    )


def trunk_configs() -> list[TrunkConfig]:
    """Every enabled trunk, with its DIDs (blocking: from async code use ``sync_to_async``)."""
    trunks = Trunk.objects.filter(enabled=True, tenant__enabled=True).select_related("tenant").prefetch_related("dids")
    return [trunk_config(t) for t in trunks]


async def record_trunk_state(trunk_id: str, kind: str, state: str, detail: str) -> None:
    """Store a registration state the user agent reported (``UserAgent(on_trunk_state=...)``)."""
    if kind != "registration" or not trunk_id.isdigit():
        return
    await Trunk.objects.filter(pk=int(trunk_id)).aupdate(
        registration_state=state, registration_detail=detail[:200], state_updated_at=timezone.now())
