"""The other server processes, as the switchboard asks about them: `Directory`, and `Alone`.

A switchboard knows its own process: the devices whose sockets landed here, the calls whose media
lives here, the slots those calls hold. In a cluster (README.md "Many processes") an extension's
devices, its calls and its tenant's slots are spread over every process, so each question the
call layer asks before ringing or placing a call has a part about the others: which devices of
the extension are registered elsewhere (endpoints this process can ring through the channel
layer), how many live calls involving it other processes own, whether the tenant's and the
extension's limits still allow one more call across all of them. The switchboard adds this
process's own answer to the directory's.

It also tells the directory what the others need to know of this process: that its calls changed
(busy and load are read elsewhere), and which legs wait for their party to come back
(`leg_detached`: a device that reconnects on another process finds them).

`Alone` is the directory of a process that has no others (the in-memory channel layer, `make run`):
every answer is "nothing elsewhere", at no cost. zorio_widget/cluster/ has the Redis one.
"""

from typing import Protocol

from zorio_widget.calls.device import Device
from zorio_widget.calls.limits import CallLimits


class Directory(Protocol):
    async def devices_elsewhere(self, tenant_id: int, number: str) -> list[Device]:
        """The extension's devices registered on other processes, as endpoints of this one."""

    async def calls_elsewhere(self, tenant_id: int, number: str) -> int:
        """Live calls involving the extension that other processes own."""

    async def claim_line(self, tenant_id: int, number: str, limit: int = 1) -> bool:
        """Takes one of the extension's `limit` lines for a call of this process (lines.py),
        unless the other processes' calls on it and this process's, the claim included, would be
        more than `limit`; one step, so two processes can never both take the last one. False:
        busy. Given back by `calls_changed` (this process's count, which includes the claim,
        drops when the claim goes)."""

    async def take_slot(self, tenant_id: int, number: str, limits: CallLimits) -> str | None:
        """Takes one call of the tenant's and the extension's limits across every process;
        returns why not when one is reached."""

    def give_slot(self, tenant_id: int, number: str) -> None:
        """Gives back a slot `take_slot` took (the call ended, or was never placed)."""

    def calls_changed(self) -> None:
        """This process's calls changed (a call, a leg, a slot came or went)."""

    def leg_detached(self, tenant_id: int, number: str, call_id: str) -> None:
        """The leg's device went away; the leg waits out its re-attach grace here."""

    def leg_settled(self, tenant_id: int, number: str, call_id: str) -> None:
        """The detached leg was re-attached here, or its call ended."""


class Alone:
    """The directory of a process without others: nothing is ever elsewhere."""

    async def devices_elsewhere(self, tenant_id: int, number: str) -> list[Device]:
        return []

    async def calls_elsewhere(self, tenant_id: int, number: str) -> int:
        return 0

    async def claim_line(self, tenant_id: int, number: str, limit: int = 1) -> bool:
        return True  # this process's own calls and claims are the whole count

    async def take_slot(self, tenant_id: int, number: str, limits: CallLimits) -> str | None:
        return None  # this process's own quota (`CallQuota`) is the whole count

    def give_slot(self, tenant_id: int, number: str) -> None:
        pass

    def calls_changed(self) -> None:
        pass

    def leg_detached(self, tenant_id: int, number: str, call_id: str) -> None:
        pass

    def leg_settled(self, tenant_id: int, number: str, call_id: str) -> None:
        pass
