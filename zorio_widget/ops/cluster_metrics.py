"""The cluster in `/metrics`: its nodes, its capacity and load, the calls that cross processes.

Read at scrape time from what this process already knows, with no Redis round trip: its own
switchboard and, in a cluster, the other nodes' records as its last heartbeat read them (at most
`HEARTBEAT_S` old, zorio_widget/cluster/node.py). Alone, the cluster is this one process.

- `zorio_cluster_nodes`, `zorio_cluster_draining_nodes`: live processes, and those draining;
- `zorio_cluster_capacity_limit_calls`, `zorio_cluster_capacity_in_use_calls`: the sum over them;
- `zorio_cluster_remote_parties`: legs of calls owned here whose party's socket is on another process;
- `zorio_cluster_remote_calls`: calls owned elsewhere that this process's sockets are parties of.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from zorio_widget.cluster.remote import RemoteDevice
from zorio_widget.cluster.router import Router
from zorio_widget.ops.metrics import REGISTRY


class ClusterCollector(Collector):
    def __init__(self) -> None:
        self.router: Router | None = None

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        router = self.router
        if router is None:
            return
        board = router.board
        nodes, draining = 1, int(not board.accepting)
        limit, in_use = board.capacity.limit, board.capacity.in_use
        if router.cluster is not None:
            for peer in router.cluster.node.peers.values():
                nodes += 1
                draining += int(peer.draining)
                limit += peer.limit
                in_use += peer.load
        remote_parties = sum(1 for leg in list(board.legs.values()) if isinstance(leg.endpoint, RemoteDevice))
        remote_calls = sum(len(calls) for calls in list(router.remote_calls.values()))
        for name, doc, value in (
            ("zorio_cluster_nodes", "Live server processes of the cluster (1 without one).", nodes),
            ("zorio_cluster_draining_nodes", "Of them, those draining (no new calls).", draining),
            ("zorio_cluster_capacity_limit_calls", "Calls the cluster's processes accept, together.", limit),
            ("zorio_cluster_capacity_in_use_calls", "Call slots taken across the cluster.", in_use),
            ("zorio_cluster_remote_parties", "Legs owned here whose party's socket is on another process.",
             remote_parties),
            ("zorio_cluster_remote_calls", "Calls owned elsewhere that this process's sockets are parties of.",
             remote_calls),
        ):
            yield GaugeMetricFamily(name, doc, value=value)


COLLECTOR = ClusterCollector()
REGISTRY.register(COLLECTOR)


def watch(router: Router) -> None:
    """The process's router (zorio_widget/asgi.py): what the cluster metrics read."""
    COLLECTOR.router = router
