"""The delivery worker: claims due outbox rows, POSTs them signed, logs each attempt, retries.

Each server process runs one (zorio_widget/ops/lifecycle.py). Several workers share the outbox
safely: a claim pushes the row's `next_attempt_at` past the delivery's deadline (`lease_s`) with a
compare-and-set, so only one worker gets a row, the others skip it while it is in flight, and it is
retried if that process dies (at least once). On PostgreSQL rows are read with
`SELECT ... FOR UPDATE SKIP LOCKED`, so other processes' workers do not even wait for them.

A slow or dead receiver holds only its own tenant's deliveries: every POST has a deadline
(`timeout_s`, the whole exchange), deliveries run concurrently (`concurrency`) and one tenant has at
most `per_tenant` in flight. A failed attempt (no answer, an error, any status but 2xx; redirects
are not followed) is retried after `retry_delays_s[attempt - 1]`; after the last one the event is
`failed`. Nothing here blocks the loop: database work runs in Django's database thread, HTTP
through httpx's asyncio transport.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from zorio_widget.ops.metrics import webhook_delivered
from zorio_widget.webhooks import crypto, outbox, signing
from zorio_widget.webhooks.models import EventStatus, WebhookAttempt, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

USER_AGENT = "Zorio-Webhooks/1"
POLL_S = 2.0
CONCURRENCY = 16
PER_TENANT_IN_FLIGHT = 4
LEASE_MARGIN_S = 30.0


@dataclass(frozen=True)
class Delivery:
    """One claimed event, ready to send: everything read from the database up front."""

    pk: int
    event_id: str
    event_type: str
    tenant_id: int
    tenant: str
    attempt: int
    url: str
    secret: str
    body: bytes
    problem: str = ""
    """Why it cannot be sent at all (no enabled endpoint, an unreadable secret)."""


@dataclass(frozen=True)
class Outcome:
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error


def envelope(event: WebhookEvent, tenant_slug: str) -> bytes:
    """The POST body: the same bytes on every attempt (the signature's `t` is what changes)."""
    return json.dumps({
        "id": event.event_id,
        "type": event.event_type,
        "created_at": event.created_at.isoformat(),
        "tenant": tenant_slug,
        "data": event.payload,
    }, separators=(",", ":"), ensure_ascii=False).encode()


def claim_due(limit: int, lease_s: float, in_flight: Counter[int], per_tenant: int,
              now: datetime | None = None) -> list[Delivery]:
    """Claims up to `limit` due events, at most `per_tenant` in flight per tenant.

    A claim is a compare-and-set on `next_attempt_at`: of two workers that read the same due row,
    only the one whose update still finds it due gets it, on any database. On PostgreSQL the rows
    are also read `FOR UPDATE SKIP LOCKED`, so workers of other processes skip them without waiting.
    """
    now = now or timezone.now()
    full = [tenant_id for tenant_id, count in in_flight.items() if count >= per_tenant]
    locking = connection.features.has_select_for_update_skip_locked
    with transaction.atomic() if locking else nullcontext():
        due = WebhookEvent.objects.filter(status=EventStatus.PENDING, next_attempt_at__lte=now).exclude(
            tenant_id__in=full).order_by("next_attempt_at", "pk")
        if locking:
            due = due.select_for_update(skip_locked=True)
        taken: list[WebhookEvent] = []
        per: Counter[int] = Counter(in_flight)
        leased_until = now + timedelta(seconds=lease_s)
        for event in due[: limit * 4]:
            if len(taken) == limit:
                break
            if per[event.tenant_id] >= per_tenant:
                continue
            if WebhookEvent.objects.filter(pk=event.pk, status=EventStatus.PENDING,
                                           next_attempt_at=event.next_attempt_at).update(next_attempt_at=leased_until):
                per[event.tenant_id] += 1
                taken.append(event)
    endpoints = {e.tenant_id: e for e in WebhookEndpoint.objects.filter(
        tenant_id__in={e.tenant_id for e in taken}).select_related("tenant")}
    return [_delivery(event, endpoints.get(event.tenant_id)) for event in taken]


def _delivery(event: WebhookEvent, endpoint: WebhookEndpoint | None) -> Delivery:
    problem, url, secret, slug = "", "", "", str(event.tenant_id)
    if endpoint is None or not endpoint.enabled:
        problem = "the tenant has no enabled webhook endpoint"
    else:
        url, slug = endpoint.url, endpoint.tenant.slug
        try:
            secret = endpoint.secret
        except crypto.SecretUnreadable as exc:
            problem = str(exc)
    return Delivery(event.pk, event.event_id, event.event_type, event.tenant_id, slug, event.attempts + 1,
                    url, secret, envelope(event, slug), problem)


def record_outcome(delivery: Delivery, outcome: Outcome, retry_delays_s: Sequence[float],
                   now: datetime | None = None) -> str:
    """Logs the attempt and moves the event on: `delivered`, `retry` or `failed`."""
    now = now or timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.create(
            event_id=delivery.pk, number=delivery.attempt, started_at=outcome.started_at,
            duration_ms=outcome.duration_ms, url=delivery.url, status_code=outcome.status_code,
            error=outcome.error[:500], node=str(settings.NODE_NAME)[:120])
        fields: dict[str, object] = {"attempts": delivery.attempt, "last_error": outcome.error[:500]}
        if outcome.delivered:
            result = "delivered"
            fields.update(status=EventStatus.DELIVERED, delivered_at=now)
        elif delivery.attempt > len(retry_delays_s) or delivery.problem:
            result = "failed"
            fields.update(status=EventStatus.FAILED)
        else:
            result = "retry"
            fields.update(next_attempt_at=now + timedelta(seconds=retry_delays_s[delivery.attempt - 1]))
        WebhookEvent.objects.filter(pk=delivery.pk).update(**fields)
    return result


class DeliveryWorker:
    def __init__(self, *, timeout_s: float, retry_delays_s: Sequence[float], poll_s: float = POLL_S,
                 concurrency: int = CONCURRENCY, per_tenant: int = PER_TENANT_IN_FLIGHT,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        """`transport`: httpx's (tests may pass a mock transport); `clock`: the signature's `t`."""
        self.timeout_s = timeout_s
        self.retry_delays_s = tuple(retry_delays_s)
        self.poll_s = poll_s
        self.concurrency = concurrency
        self.per_tenant = per_tenant
        self.lease_s = timeout_s + LEASE_MARGIN_S
        self._transport = transport
        self._clock = clock
        self._in_flight: Counter[int] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()

    @classmethod
    def from_settings(cls) -> DeliveryWorker:
        return cls(timeout_s=settings.WEBHOOK_TIMEOUT_S, retry_delays_s=settings.WEBHOOK_RETRY_DELAYS_S)

    async def run(self) -> None:
        """Delivers until cancelled; then cancels what is in flight (those rows are retried later)."""
        loop = asyncio.get_running_loop()
        outbox.add_waker(loop, self._wake)
        client = httpx.AsyncClient(transport=self._transport, follow_redirects=False, trust_env=False,
                                   timeout=self.timeout_s, headers={"User-Agent": USER_AGENT})
        try:
            while True:
                self._wake.clear()
                await self._claim_and_send(client)
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
                except TimeoutError:
                    pass
        finally:
            outbox.remove_waker(loop, self._wake)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await client.aclose()

    async def _claim_and_send(self, client: httpx.AsyncClient) -> None:
        free = self.concurrency - len(self._tasks)
        if free <= 0:
            return
        try:
            deliveries = await database_sync_to_async(claim_due)(free, self.lease_s, Counter(self._in_flight),
                                                                 self.per_tenant)
        except Exception as exc:  # the database is down: try again at the next poll
            logger.warning("webhooks: could not claim due events: %r", exc)
            return
        for delivery in deliveries:
            self._in_flight[delivery.tenant_id] += 1
            task = asyncio.get_running_loop().create_task(self._deliver(client, delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        try:
            outcome = await self.send(client, delivery)
            result = await database_sync_to_async(record_outcome)(delivery, outcome, self.retry_delays_s)
            webhook_delivered(result)
            log = logger.info if result == "delivered" else logger.warning
            log("webhook %s %s to tenant %s: attempt %d %s (%s)", delivery.event_type, delivery.event_id,
                delivery.tenant, delivery.attempt, result, outcome.error or outcome.status_code,
                extra={"tenant": delivery.tenant})
        except Exception:  # never lose the worker to one event: the row's lease makes it due again
            logger.exception("webhook %s: delivery attempt crashed", delivery.event_id)
        finally:
            self._in_flight[delivery.tenant_id] -= 1
            if self._in_flight[delivery.tenant_id] <= 0:
                del self._in_flight[delivery.tenant_id]
            self._wake.set()  # a slot is free

    async def send(self, client: httpx.AsyncClient, delivery: Delivery) -> Outcome:
        """One POST with a deadline for the whole exchange; never raises for the receiver's sake."""
        started_at, began = timezone.now(), time.monotonic()
        status_code: int | None = None
        error = delivery.problem
        if not error:
            headers = {
                "Content-Type": "application/json",
                signing.SIGNATURE_HEADER: signing.signature_header(delivery.secret, delivery.body, int(self._clock())),
                "Zorio-Event-Id": delivery.event_id,
                "Zorio-Event-Type": delivery.event_type,
            }
            try:
                async with asyncio.timeout(self.timeout_s):
                    async with client.stream("POST", delivery.url, content=delivery.body, headers=headers) as reply:
                        status_code = reply.status_code
            except TimeoutError:
                error = f"no answer within {self.timeout_s:g} s"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if status_code is not None and not 200 <= status_code < 300:
                error = f"HTTP {status_code}" + (" (redirects are not followed)" if 300 <= status_code < 400 else "")
        return Outcome(started_at, int((time.monotonic() - began) * 1000), status_code, error)
