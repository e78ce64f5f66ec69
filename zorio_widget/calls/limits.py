"""Live-call limits per tenant and per extension, so one tenant cannot take every call slot.

The process cap (`CallCapacity`, MAX_CALLS_PER_PROCESS) protects the CPU; these protect the
tenants from each other. Limits are read from the tenant at each call (the admin's change applies
to the next call); the counts are taken synchronously, with no await between check and take, so
concurrent `call.create`s from many sockets cannot overshoot.
"""

from collections import Counter
from dataclasses import dataclass

from channels.db import database_sync_to_async

from zorio_widget.tenants.models import Tenant


@dataclass(frozen=True)
class CallLimits:
    per_tenant: int
    per_extension: int


def limits_of_tenant(tenant: Tenant) -> CallLimits:
    return CallLimits(tenant.live_call_limit, tenant.extension_call_limit)


def read_limits(tenant_id: int) -> CallLimits:
    return limits_of_tenant(Tenant.objects.only("max_live_calls", "max_calls_per_extension").get(pk=tenant_id))


limits_of = database_sync_to_async(read_limits)


class CallQuota:
    """Counts of live calls placed, by tenant and by (tenant, extension number)."""

    def __init__(self) -> None:
        self._tenants: Counter[int] = Counter()
        self._extensions: Counter[tuple[int, str]] = Counter()

    def of_tenant(self, tenant_id: int) -> int:
        return self._tenants[tenant_id]

    def of_extension(self, tenant_id: int, number: str) -> int:
        return self._extensions[(tenant_id, number)]

    def try_take(self, tenant_id: int, number: str, limits: CallLimits) -> str | None:
        """Takes one call for the extension; returns why not when a limit is reached."""
        if self._tenants[tenant_id] >= limits.per_tenant:
            return f"Your organisation has reached its limit of {limits.per_tenant} live calls."
        if self._extensions[(tenant_id, number)] >= limits.per_extension:
            return f"This extension has reached its limit of {limits.per_extension} live calls."
        self._tenants[tenant_id] += 1
        self._extensions[(tenant_id, number)] += 1
        return None

    def give_back(self, tenant_id: int, number: str) -> None:
        self._tenants[tenant_id] -= 1
        if self._tenants[tenant_id] <= 0:
            del self._tenants[tenant_id]
        key = (tenant_id, number)
        self._extensions[key] -= 1
        if self._extensions[key] <= 0:
            del self._extensions[key]
