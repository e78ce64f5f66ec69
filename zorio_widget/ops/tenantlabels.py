"""The `tenant` label of per-tenant metrics: the tenant's slug, learnt once per process.

Shared by the set-up histogram (observed on the database thread, in the answer's transaction) and
the per-tenant gauges (read on the loop at each scrape), so neither asks the database for a tenant
it has already named. A slug renamed in the admin shows under its old name until the process
restarts; a tenant that does not exist is labelled with its id.
"""

import threading
from collections.abc import Collection, Iterable

_slugs: dict[int, str] = {}
_lock = threading.Lock()


def known_labels(tenant_ids: Collection[int]) -> dict[int, str] | None:
    """The labels of these tenants if every one is named already (no query), else None."""
    with _lock:
        if all(tenant_id in _slugs for tenant_id in tenant_ids):
            return {tenant_id: _slugs[tenant_id] for tenant_id in tenant_ids}
    return None


def tenant_labels(tenant_ids: Iterable[int]) -> dict[int, str]:
    """The label of each tenant (blocking: queries the tenants not named yet)."""
    wanted = set(tenant_ids)
    with _lock:
        unknown = wanted - set(_slugs)
    if unknown:
        from zorio_widget.tenants.models import Tenant

        found = dict(Tenant.objects.filter(pk__in=unknown).values_list("pk", "slug"))
        with _lock:
            _slugs.update(found)
    with _lock:
        return {tenant_id: _slugs.get(tenant_id, str(tenant_id)) for tenant_id in wanted}


def tenant_label(tenant_id: int) -> str:
    return tenant_labels((tenant_id,))[tenant_id]
