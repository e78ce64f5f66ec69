"""Where a new call goes when this process is full: the live node with the most spare capacity.

A call's media lives on the process that takes it, so a process at `MAX_CALLS_PER_PROCESS` does
not refuse a call the cluster could carry: its router sends the `call.create` to another node
(the caller's socket stays here; the call's frames come back through the channel layer). The
choice reads each live peer's record afresh (its load, limit and draining flag, one MGET), so
a node filled since the last heartbeat is not picked; a draining node never is. None: every
node is full (the call is then refused `capacity` here).
"""

from __future__ import annotations

from zorio_widget.cluster.node import Node, NodeInfo


async def pick_node(node: Node) -> NodeInfo | None:
    peers = [peer for peer in node.peers if node.is_alive(peer)]
    if not peers:
        return None
    records = await node.redis.mget([node.keys.node(peer) for peer in peers])
    fresh = [NodeInfo.from_json(peer, raw) for peer, raw in zip(peers, records, strict=True) if raw]
    candidates = [info for info in fresh if info.spare > 0]
    return max(candidates, key=lambda info: (info.spare / max(1, info.limit), info.spare), default=None)
