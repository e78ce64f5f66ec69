"""The process's Prometheus registry and the metrics other layers feed as things happen.

Everything that can be read from the call layer when `/metrics` is scraped (live calls, legs,
capacity, devices, media counters) is read then, by `collector.CallLayerCollector`; what happens
in between is recorded here, through functions each a one-line call from the layer that sees it:

- `observe_setup(seconds, tenant)`: a call was answered, `seconds` after it was created;
- `socket_opened()` / `socket_closed()`: a WebSocket came or went (zorio_widget/serve.py);
- `observe_loop_lag(seconds)`: the event loop ran a timer that late (`looplag.LoopLagMonitor`);
- `webhook_delivered(result)`: a webhook attempt ended (zorio_widget/webhooks/delivery.py).

This module imports nothing of the project, so any floor may call it. It has its own registry
(not prometheus_client's global one) so tests and re-imports never register a name twice.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.process_collector import ProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # process_cpu_seconds_total, process_resident_memory_bytes, ...

#: Call set-up, from `call.create` to answer: the ICE + DTLS of both legs and the ringing.
SETUP_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 45.0)
#: Scheduling delay of the event loop: a relayed packet is late by at least this much.
LOOP_LAG_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

CALL_SETUP_SECONDS = Histogram(
    "zorio_call_setup_seconds", "Seconds from call.create to the call being answered.",
    ["tenant"], buckets=SETUP_BUCKETS_S, registry=REGISTRY,
)
LOOP_LAG_SECONDS = Histogram(
    "zorio_event_loop_lag_seconds", "How late the event loop ran a timer (scheduling delay).",
    buckets=LOOP_LAG_BUCKETS_S, registry=REGISTRY,
)
WEBSOCKET_CONNECTIONS = Gauge(
    "zorio_websocket_connections", "Open WebSocket connections of this process.", registry=REGISTRY,
)
WEBHOOK_ATTEMPTS = Counter(
    "zorio_webhook_attempts", "Webhook delivery attempts by this process, by result.",
    ["result"], registry=REGISTRY,
)


def observe_setup(seconds: float, tenant: str = "") -> None:
    """A call was answered `seconds` after `call.create` (`tenant`: its slug, or empty)."""
    CALL_SETUP_SECONDS.labels(tenant=tenant).observe(max(0.0, seconds))


def observe_loop_lag(seconds: float) -> None:
    LOOP_LAG_SECONDS.observe(max(0.0, seconds))


def socket_opened() -> None:
    WEBSOCKET_CONNECTIONS.inc()


def socket_closed() -> None:
    WEBSOCKET_CONNECTIONS.dec()


def webhook_delivered(result: str) -> None:
    """One attempt ended: `delivered`, `retry` (will be tried again) or `failed` (given up)."""
    WEBHOOK_ATTEMPTS.labels(result=result).inc()
