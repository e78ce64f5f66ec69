"""What `/metrics` reads of the call layer and the media bridge, at scrape time.

`call_layer_view()` is the one place that knows the switchboard's shape: it reads
`get_switchboard()`'s `sessions` (each with `tenant_id`, `is_live`), `legs` (call id -> leg with
`media` and `session.tenant_id`), `presence` ((tenant id, number) -> devices) and `capacity`
(`limit`, `in_use`), each defensively, so a renamed attribute makes that metric disappear (and
`zorio_call_layer_readable` 0, with a warning in the log) instead of failing the scrape.

Media counters are per leg and die with it, while Prometheus counters must only grow: `MediaTotals`
adds each leg's final figures to process totals when the leg closes (it watches every leg it sees
through `MediaLeg.add_close_listener`), and a scrape reports those totals plus the live legs'.
A leg that starts and ends between two scrapes is only counted if the call layer hands it to
`track()` when the leg is made (a one-line hook, README "Production").
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from zorio_widget.ops.lifecycle import is_draining
from zorio_widget.ops.metrics import REGISTRY
from zorio_widget.ops.tenantlabels import known_labels, tenant_labels

logger = logging.getLogger(__name__)


@dataclass
class CallLayerView:
    """The call layer at one instant, by tenant id; `None` where it could not be read."""

    live_calls: Counter[int] | None = None
    legs: Counter[int] | None = None
    devices: Counter[int] | None = None
    capacity_limit: int | None = None
    capacity_in_use: int | None = None
    media: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def call_layer_view() -> CallLayerView:
    """Reads the process's switchboard; must run on the event loop that owns it."""
    view = CallLayerView()
    try:
        from zorio_widget.calls.switchboard import get_switchboard

        board = get_switchboard()
    except Exception as exc:  # the calls floor cannot even be imported: report, don't fail the scrape
        view.problems.append(f"switchboard: {exc!r}")
        return view
    try:
        view.live_calls = Counter(s.tenant_id for s in list(board.sessions) if getattr(s, "is_live", True))
    except Exception as exc:
        view.problems.append(f"sessions: {exc!r}")
    try:
        legs = list(board.legs.values())
        view.legs = Counter(leg.session.tenant_id for leg in legs)
        view.media = [leg.media for leg in legs if getattr(leg, "media", None) is not None]
    except Exception as exc:
        view.problems.append(f"legs: {exc!r}")
    try:
        view.devices = Counter({key[0]: 0 for key in board.presence})
        for (tenant_id, _number), devices in list(board.presence.items()):
            view.devices[tenant_id] += len(devices)
    except Exception as exc:
        view.problems.append(f"presence: {exc!r}")
    try:
        view.capacity_limit, view.capacity_in_use = int(board.capacity.limit), int(board.capacity.in_use)
    except Exception as exc:
        view.problems.append(f"capacity: {exc!r}")
    return view


@dataclass
class MediaCounts:
    """One leg's (or a sum of legs') media counters."""

    packets_received: int = 0
    packets_relayed: int = 0
    packets_relayed_native: int = 0
    bytes_received: int = 0
    bytes_sent: int = 0

    def __iadd__(self, other: MediaCounts) -> MediaCounts:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


async def read_media(media: Any) -> MediaCounts:
    """A leg's counters: packets it received, packets relayed to it (either path), of which by the
    native relay, and the bytes its transport received and sent (SRTP and RTCP, as aiortc's
    `getStats()` reports them)."""
    counts = MediaCounts(packets_received=int(getattr(media, "packets_received", 0)))
    outbound = getattr(media, "outbound", None)
    counts.packets_relayed = int(getattr(outbound, "forwarded", 0))
    counts.packets_relayed_native = _natively_relayed(media)
    receiver = getattr(media, "receiver", None)
    if receiver is not None:
        try:
            report = await receiver.getStats()
        except Exception:
            return counts
        for stats in report.values():
            if getattr(stats, "type", "") == "transport":
                counts.bytes_received += int(stats.bytesReceived or 0)
                counts.bytes_sent += int(stats.bytesSent or 0)
    return counts


def _natively_relayed(media: Any) -> int:
    """Packets the native relay carried to `media`'s peer (`counters()` of the native relay, found in
    `media.native.routes` or, in the older layout, `media.native`); 0 for other kinds of media."""
    for module_name in ("zorio_widget.media.native.routes", "zorio_widget.media.native"):
        try:
            counters = getattr(importlib.import_module(module_name), "counters", None)
        except ImportError:
            continue
        if counters is not None:
            try:
                return int(counters(media)["relayed"])
            except Exception:  # not an aiortc leg (a trunk leg, a test fake)
                return 0
    return 0


class MediaTotals:
    """Process totals of the media counters, across legs that come and go."""

    def __init__(self) -> None:
        self.retired = MediaCounts()
        self._watched: weakref.WeakSet[Any] = weakref.WeakSet()
        self._closing: weakref.WeakSet[Any] = weakref.WeakSet()
        self._retiring: set[asyncio.Task[None]] = set()

    def track(self, media: Any) -> None:
        """Counts `media`'s figures into the totals when it closes (idempotent)."""
        if media in self._watched or media in self._closing:
            return
        add_close_listener = getattr(media, "add_close_listener", None)
        if add_close_listener is None:
            return
        self._watched.add(media)
        add_close_listener(self._on_close)

    def _on_close(self, media: Any) -> None:
        self._watched.discard(media)
        self._closing.add(media)
        task = asyncio.get_running_loop().create_task(self._retire(media))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _retire(self, media: Any) -> None:
        self.retired += await read_media(media)

    async def totals(self, live: Iterable[Any]) -> MediaCounts:
        for media in live:
            self.track(media)
        if self._retiring:  # legs closing right now: their final figures first
            await asyncio.gather(*self._retiring, return_exceptions=True)
        total = MediaCounts()
        total += self.retired
        for media in list(self._watched):
            total += await read_media(media)
        return total


class CallLayerCollector(Collector):
    """The call layer's metrics; `refresh()` (async, on the loop) reads them, `collect()` yields them."""

    def __init__(self, totals: MediaTotals | None = None) -> None:
        self.totals = totals or MediaTotals()
        self._families: list[Metric] = []
        self._labels: dict[int, str] = {}
        self._reported: set[str] = set()

    def describe(self) -> list[Metric]:
        return []  # the names depend on what the call layer exposes; nothing to check in advance

    def collect(self) -> Iterator[Metric]:
        yield from self._families

    async def refresh(self) -> None:
        view = call_layer_view()
        for problem in view.problems:
            if problem not in self._reported:
                self._reported.add(problem)
                logger.warning("metrics: the call layer could not be read: %s", problem)
        media = await self.totals.totals(view.media)
        tenant_ids = {*(view.live_calls or ()), *(view.legs or ()), *(view.devices or ())}
        labels = known_labels(tenant_ids)
        self._labels = labels if labels is not None else await _tenant_labels(tenant_ids)
        families: list[Metric] = [
            self._per_tenant("zorio_live_calls", "Live calls owned by this process.", view.live_calls),
            self._per_tenant("zorio_call_legs", "Call legs (parties) in this process.", view.legs),
            self._per_tenant("zorio_registered_devices", "Devices registered on this process.", view.devices),
        ]
        if view.capacity_limit is not None:
            families.append(GaugeMetricFamily("zorio_capacity_limit_calls",
                                              "Calls this process accepts (MAX_CALLS_PER_PROCESS).",
                                              value=view.capacity_limit))
            families.append(GaugeMetricFamily("zorio_capacity_in_use_calls", "Call slots taken in this process.",
                                              value=view.capacity_in_use))
        for name, doc, value in (
            ("zorio_media_packets_received", "RTP packets received from parties.", media.packets_received),
            ("zorio_relayed_packets", "Packets relayed from one party to another (Python and native paths).",
             media.packets_relayed),
            ("zorio_native_relayed_packets", "Of the relayed packets, those carried by the native relay.",
             media.packets_relayed_native),
            ("zorio_media_received_bytes", "Bytes received on the legs' media transports.", media.bytes_received),
            ("zorio_media_sent_bytes", "Bytes sent on the legs' media transports.", media.bytes_sent),
        ):
            families.append(CounterMetricFamily(name, doc, value=value))
        families.extend(process_state_families(not view.problems))
        self._families = families

    def _per_tenant(self, name: str, doc: str, counts: Counter[int] | None) -> Metric:
        family = GaugeMetricFamily(name, doc, labels=["tenant"])
        if counts is None:
            return family
        for tenant_id, value in sorted(counts.items()):
            family.add_metric([self._labels.get(tenant_id, str(tenant_id))], value)
        if not counts:
            family.add_metric([""], 0)  # "none" is a value too: a dashboard sees 0, not no data
        return family


_tenant_labels = database_sync_to_async(tenant_labels)


def process_state_families(call_layer_readable: bool) -> list[Metric]:
    """The process's switches: native relay, draining, whether the call layer could be read."""
    try:
        from zorio_widget.media import native

        available, enabled = native.available(), bool(native.enabled)
    except Exception:
        available = enabled = False
    info = GaugeMetricFamily("zorio_node_info", "This process's node name (value always 1).", labels=["node"])
    info.add_metric([str(settings.NODE_NAME)], 1)
    return [
        info,
        GaugeMetricFamily("zorio_native_relay_available", "1 when the native relay is built.", value=int(available)),
        GaugeMetricFamily("zorio_native_relay_enabled", "1 when the native relay carries plain relays.",
                          value=int(enabled)),
        GaugeMetricFamily("zorio_draining", "1 while this process drains (readiness fails).", value=int(is_draining())),
        GaugeMetricFamily("zorio_call_layer_readable", "0 when /metrics could not read the call layer's state.",
                          value=int(call_layer_readable)),
    ]


COLLECTOR = CallLayerCollector()
REGISTRY.register(COLLECTOR)


def track(media: Any) -> None:
    """Hook for the call layer: counts a new leg's media into the totals even if no scrape sees it live."""
    COLLECTOR.totals.track(media)
