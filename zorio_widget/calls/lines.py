"""Claims on an extension's lines: how "busy" is decided once, for the whole cluster.

An extension has as many lines as the calls it may have at once: one without call waiting, its
tenant's per-extension limit (`CallLimits.per_extension`) with it (`lines_of`). Counting its
calls and then ringing it is two steps, and calls placed at the same moment (on one process, or
on two) could all count one line free and all ring it. So the call that finds a line free
*claims* it in the same step (`Switchboard.claim_line`): on this process a claim counts from the
moment it is asked for (a call here that finds every line taken by calls and claims hears `busy`
at once), and the directory checks the other processes and takes the line there atomically
(`Directory.claim_line`, one Redis script in a cluster: the other live nodes' counts and this
node's, the claim included, within the limit).

A claim lasts as long as the call holding it (`holder`): it is given back when that call ends
(`Switchboard.forget_session`), or at once when the call it was taken for is never made (a
refused transfer: `release`). A transfer claims the line of a target without call waiting
before the new call exists and hands the claim to it (`hand_to`); a call transferred to an
extension with call waiting claims its line when it rings, as any call. What other processes
read of this one (`Switchboard.lines`) counts a claim only once the directory confirmed it, and
once per call: the claimed call's own leg to the extension, when it comes, is the same line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field


def lines_of(call_waiting: bool, per_extension: int) -> int:
    """How many calls an extension may have at once: one without call waiting, else the limit."""
    return per_extension if call_waiting else 1


@dataclass(eq=False)
class LineClaim:
    tenant_id: int
    number: str
    _claims: LineClaims = field(repr=False)
    #: The call this claim lasts with (a `CallSession`); the claim itself until handed to one.
    holder: object = None
    #: The directory took the line across the cluster (or could not ask, and this process decided).
    confirmed: bool = False

    def __post_init__(self) -> None:
        if self.holder is None:
            self.holder = self

    def hand_to(self, holder: object) -> None:
        """The claim now lasts as long as `holder` (the call made for it)."""
        self.holder = holder

    def release(self) -> None:
        self._claims.release(self)


class LineClaims:
    """The claims of this process's calls; `changed` is told when the counted ones change."""

    def __init__(self, changed: Callable[[], None]) -> None:
        self._changed = changed
        self._claims: list[LineClaim] = []

    async def claim(self, tenant_id: int, number: str, holder: object, here: int, limit: int,
                    elsewhere: Callable[[int, str, int], Awaitable[bool]]) -> LineClaim | None:
        """One of the `limit` lines, unless the calls and claims of this process hold them all
        (`here`) or the other processes refuse it (`elsewhere`: `Directory.claim_line`). Pending
        while they are asked, so that a call here that comes next counts it at once."""
        if here >= limit:
            return None
        claim = self.new(tenant_id, number, holder)
        try:
            free = await elsewhere(tenant_id, number, limit)
        except BaseException:
            self.release(claim)
            raise
        if not free:
            self.release(claim)
            return None
        self.confirm(claim)  # before this task yields: the directory's next publication counts it
        return claim

    def new(self, tenant_id: int, number: str, holder: object = None) -> LineClaim:
        """A pending claim: it counts on this process now, elsewhere once `confirm`ed."""
        claim = LineClaim(tenant_id, number, self, holder)
        self._claims.append(claim)
        return claim

    def confirm(self, claim: LineClaim) -> None:
        claim.confirmed = True
        self._changed()

    def release(self, claim: LineClaim) -> None:
        if claim in self._claims:
            self._claims.remove(claim)
            if claim.confirmed:
                self._changed()

    def release_held_by(self, holder: object) -> None:
        for claim in [c for c in self._claims if c.holder is holder]:
            self.release(claim)

    def held_by(self, holder: object, tenant_id: int, number: str) -> LineClaim | None:
        return next((c for c in self._claims if c.holder is holder and c.confirmed
                     and (c.tenant_id, c.number) == (tenant_id, number)), None)

    def holders_of(self, tenant_id: int, number: str) -> set[object]:
        """Who holds or is asking for the extension's line here, confirmed or not."""
        return {c.holder for c in self._claims if (c.tenant_id, c.number) == (tenant_id, number)}

    def confirmed(self) -> Iterator[tuple[object, int, str]]:
        return ((c.holder, c.tenant_id, c.number) for c in self._claims if c.confirmed)

