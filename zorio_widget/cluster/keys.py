"""The names of the cluster's Redis keys, under the channel layer's prefix (`CHANNEL_PREFIX`).

Every key a process writes a field into (presence, lines, quota, detached legs, queue lines) is
also added to the set `owned(node)`, so whoever closes a dead process's state finds all of it
without a scan. The lines, quota and detached hashes are keyed by node inside (one field per
process), so a process only ever changes its own fields and a dead one's fields are simply ignored
until removed. Queue agents' state belongs to no process (an agent stays logged in whichever
process its socket was on): it lives until the agent logs out.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str

    @property
    def base(self) -> str:
        return f"{self.prefix}:cluster"

    @property
    def nodes(self) -> str:
        """Sorted set: node id -> time of its last heartbeat (who exists, who went silent)."""
        return f"{self.base}:nodes"

    def node(self, node_id: str) -> str:
        """The node's record (JSON: channel, name, load, limit, draining), with a TTL its heartbeat renews."""
        return f"{self.base}:node:{node_id}"

    def owned(self, node_id: str) -> str:
        """Set of the keys the node holds fields in."""
        return f"{self.base}:owned:{node_id}"

    def reaping(self, node_id: str) -> str:
        """Taken (SET NX) by the one survivor that closes a dead node's calls and keys."""
        return f"{self.base}:reap:{node_id}"

    def presence(self, tenant_id: int, number: str) -> str:
        """Hash: device id -> the device's card (JSON), for every process's devices of the extension."""
        return f"{self.base}:presence:{tenant_id}:{number}"

    def lines(self, tenant_id: int, number: str) -> str:
        """Hash: node id -> live calls of that node involving the extension (busy, call waiting)."""
        return f"{self.base}:lines:{tenant_id}:{number}"

    def tenant_quota(self, tenant_id: int) -> str:
        """Hash: node id -> live calls the tenant placed on that node."""
        return f"{self.base}:quota:{tenant_id}"

    def extension_quota(self, tenant_id: int, number: str) -> str:
        """Hash: node id -> live calls the extension placed on that node."""
        return f"{self.base}:quota:{tenant_id}:{number}"

    def detached(self, tenant_id: int, number: str) -> str:
        """Hash: call id -> owner node id, for legs of the extension waiting out their re-attach grace."""
        return f"{self.base}:detached:{tenant_id}:{number}"

    def agents(self, tenant_id: int) -> str:
        """Set: the numbers of the tenant's extensions logged in to a queue (scenarios/agentstore.py)."""
        return f"{self.base}:agents:{tenant_id}"

    def agent(self, tenant_id: int, number: str) -> str:
        """String (JSON): a queue agent's state, its queues, paused, idle since (Redis time)."""
        return f"{self.base}:agent:{tenant_id}:{number}"

    def agent_offer(self, tenant_id: int, number: str) -> str:
        """Taken (SET NX, with a TTL) by the queue caller ringing the agent now: "<node id> <ticket>"."""
        return f"{self.base}:offer:{tenant_id}:{number}"

    def queue_line(self, tenant_id: int, queue: str) -> str:
        """Hash: ticket -> "<node id> <joined at> <offering 0|1>", the callers waiting in a queue."""
        return f"{self.base}:line:{tenant_id}:{queue}"
