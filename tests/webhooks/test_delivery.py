"""The outbox and its delivery worker against local receivers (real HTTP, the real database).

Retries are fast here (`retry_delays_s` of tenths of a second) so the schedule is observable.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from tests.webhooks.conftest import HANG, Receiver
from zorio_widget.tenants.models import Tenant
from zorio_widget.webhooks import crypto, signing
from zorio_widget.webhooks.delivery import DeliveryWorker
from zorio_widget.webhooks.models import EventStatus, WebhookAttempt, WebhookEndpoint, WebhookEvent
from zorio_widget.webhooks.outbox import aenqueue, enqueue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SECRET = "whsec_test-secret-0123456789abcdef"


@database_sync_to_async
def make_tenant(slug: str, url: str, secret: str = SECRET) -> Tenant:
    tenant = Tenant.objects.create(name=slug.title(), slug=slug)
    endpoint = WebhookEndpoint(tenant=tenant, url=url)
    endpoint.secret = secret
    endpoint.save()
    return tenant


@database_sync_to_async
def event_state(event_id: str) -> tuple[str, int, list[tuple[int | None, str]]]:
    event = WebhookEvent.objects.get(event_id=event_id)
    log = [(a.status_code, a.error) for a in WebhookAttempt.objects.filter(event=event).order_by("number")]
    return event.status, event.attempts, log


async def wait_for_status(event_id: str, statuses: set[str], timeout_s: float = 20.0) -> tuple:
    deadline = time.monotonic() + timeout_s
    while True:
        state = await event_state(event_id)
        if state[0] in statuses or time.monotonic() > deadline:
            return state
        await asyncio.sleep(0.05)


@pytest.fixture
async def run_worker() -> AsyncIterator[Callable[..., DeliveryWorker]]:
    tasks: list[asyncio.Task[None]] = []

    def start(**kwargs) -> DeliveryWorker:
        options = {"timeout_s": 2.0, "retry_delays_s": (0.3, 0.6, 1.2), "poll_s": 0.1, **kwargs}
        worker = DeliveryWorker(**options)
        tasks.append(asyncio.create_task(worker.run()))
        return worker

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_retries_until_delivered_with_a_stable_event_id(receiver_factory, run_worker) -> None:
    receiver: Receiver = receiver_factory(SECRET, [500, 500, 200])
    tenant = await make_tenant("acme", receiver.url)
    event = await aenqueue(tenant.pk, "card.saved", {"call": {"uuid": "u-1"}, "card": {"outcome": "sale"}})
    run_worker()
    status, attempts, log = await wait_for_status(event.event_id, {EventStatus.DELIVERED, EventStatus.FAILED})
    assert (status, attempts) == (EventStatus.DELIVERED, 3)
    assert log == [(500, "HTTP 500"), (500, "HTTP 500"), (200, "")]
    requests = receiver.wait_for(3)
    assert len(requests) == 3 and all(r.signature_ok for r in requests)
    # The same bytes and event id on every attempt: the receiver de-duplicates by id.
    assert {r.body for r in requests} == {requests[0].body}
    assert {r.headers["Zorio-Event-Id"] for r in requests} == {event.event_id}
    body = requests[0].event
    assert body["id"] == event.event_id and body["type"] == "card.saved" and body["tenant"] == "acme"
    assert body["data"] == {"call": {"uuid": "u-1"}, "card": {"outcome": "sale"}}
    # Backoff: the second wait is longer than the first (0.3 s then 0.6 s).
    first_gap, second_gap = requests[1].at - requests[0].at, requests[2].at - requests[1].at
    assert 0.25 <= first_gap < second_gap and second_gap >= 0.55


async def test_gives_up_after_the_last_retry(receiver_factory, run_worker) -> None:
    receiver = receiver_factory(SECRET, [503])
    tenant = await make_tenant("acme", receiver.url)
    event = await aenqueue(tenant.pk, "call.ended", {"call": {"uuid": "u-2"}})
    run_worker(retry_delays_s=(0.1, 0.1))
    status, attempts, log = await wait_for_status(event.event_id, {EventStatus.FAILED})
    assert (status, attempts) == (EventStatus.FAILED, 3)
    assert [code for code, _error in log] == [503, 503, 503]
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == 3  # nothing after giving up


async def test_a_receiver_that_never_answers_does_not_hold_other_tenants(receiver_factory, run_worker) -> None:
    stuck = receiver_factory(SECRET, [HANG])
    fine = receiver_factory("whsec_other-tenant-secret-000000", [200])
    slow_tenant = await make_tenant("slow", stuck.url)
    fast_tenant = await make_tenant("fast", fine.url, "whsec_other-tenant-secret-000000")
    stuck_events = [await aenqueue(slow_tenant.pk, "call.started", {"n": n}) for n in range(6)]
    queued_at = time.monotonic()
    fast_event = await aenqueue(fast_tenant.pk, "call.started", {"n": 0})
    run_worker(timeout_s=3.0, per_tenant=2)
    status, _attempts, _log = await wait_for_status(fast_event.event_id, {EventStatus.DELIVERED}, timeout_s=10)
    assert status == EventStatus.DELIVERED
    assert fine.requests[0].at - queued_at < 2.5  # well before the stuck receiver's 3 s deadline
    assert fine.requests[0].signature_ok
    assert len(stuck.wait_for(2, timeout_s=2)) == 2  # only `per_tenant` of the slow tenant's in flight
    for _ in range(100):  # the first attempt is logged once its 3 s deadline has passed
        if log := (await event_state(stuck_events[0].event_id))[2]:
            break
        await asyncio.sleep(0.1)
    assert log[:1] == [(None, "no answer within 3 s")]


async def test_a_receiver_with_another_secret_refuses_and_the_event_fails(receiver_factory, run_worker) -> None:
    receiver = receiver_factory("whsec_not-the-configured-secret-00", [200])
    tenant = await make_tenant("acme", receiver.url)
    event = await aenqueue(tenant.pk, "recording.ready", {"call": {"uuid": "u-3"}})
    run_worker(retry_delays_s=(0.1,))
    status, attempts, log = await wait_for_status(event.event_id, {EventStatus.FAILED})
    assert (status, attempts, log) == (EventStatus.FAILED, 2, [(400, "HTTP 400"), (400, "HTTP 400")])
    assert receiver.requests and not any(r.signature_ok for r in receiver.requests)


async def test_redirects_are_not_followed(receiver_factory, run_worker) -> None:
    elsewhere = receiver_factory(SECRET, [200])
    redirecting = receiver_factory(SECRET, [302])
    redirecting.extra_headers["Location"] = elsewhere.url
    tenant = await make_tenant("acme", redirecting.url)
    event = await aenqueue(tenant.pk, "call.answered", {"call": {"uuid": "u-4"}})
    run_worker(retry_delays_s=())
    status, _attempts, log = await wait_for_status(event.event_id, {EventStatus.FAILED})
    assert status == EventStatus.FAILED and log == [(302, "HTTP 302 (redirects are not followed)")]
    assert elsewhere.requests == []


async def test_two_workers_deliver_each_event_once(receiver_factory, run_worker) -> None:
    receiver = receiver_factory(SECRET, [200])
    tenant = await make_tenant("acme", receiver.url)
    events = [await aenqueue(tenant.pk, "call.started", {"n": n}) for n in range(30)]
    run_worker(per_tenant=8)
    run_worker(per_tenant=8)
    for event in events:
        assert (await wait_for_status(event.event_id, {EventStatus.DELIVERED}))[0] == EventStatus.DELIVERED
    ids = [r.headers["Zorio-Event-Id"] for r in receiver.requests]
    assert sorted(ids) == sorted(e.event_id for e in events)  # each exactly once


def test_enqueue_refuses_unknown_types_and_non_json_and_skips_tenants_without_endpoint(db) -> None:
    tenant = Tenant.objects.create(name="Acme", slug="acme")
    assert enqueue(tenant.pk, "call.started", {"x": 1}) is None  # no endpoint: nothing queued
    endpoint = WebhookEndpoint(tenant=tenant, url="https://crm.acme.example/hooks")
    endpoint.secret = SECRET
    endpoint.save()
    with pytest.raises(ValueError, match="unknown webhook event type"):
        enqueue(tenant.pk, "call.exploded", {})
    with pytest.raises(ValueError, match="not JSON"):
        enqueue(tenant.pk, "call.started", {"x": object()})
    assert WebhookEvent.objects.count() == 0
    endpoint.enabled = False
    endpoint.save()
    assert enqueue(tenant.pk, "call.started", {"x": 1}) is None


def test_an_event_exists_only_if_its_transaction_commits(db) -> None:
    tenant = Tenant.objects.create(name="Acme", slug="acme")
    endpoint = WebhookEndpoint(tenant=tenant, url="https://crm.acme.example/hooks")
    endpoint.secret = SECRET
    endpoint.save()
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(tenant.pk, "card.saved", {"card": {}})
        raise RuntimeError("the record write failed")
    assert WebhookEvent.objects.count() == 0
    with transaction.atomic():
        enqueue(tenant.pk, "card.saved", {"card": {}})
    assert WebhookEvent.objects.count() == 1


def test_the_secret_is_encrypted_at_rest(db) -> None:
    tenant = Tenant.objects.create(name="Acme", slug="acme")
    endpoint = WebhookEndpoint(tenant=tenant, url="https://crm.acme.example/hooks")
    endpoint.secret = SECRET
    endpoint.save()
    stored = WebhookEndpoint.objects.values_list("secret_encrypted", flat=True).get()
    assert SECRET not in stored and WebhookEndpoint.objects.get().secret == SECRET


def test_signature_checks() -> None:
    body = json.dumps({"id": "evt_1"}).encode()
    header = signing.signature_header(SECRET, body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert signing.verify(SECRET, header, body, now=1_700_000_010)
    assert not signing.verify("whsec_wrong", header, body, now=1_700_000_010)
    assert not signing.verify(SECRET, header, body + b" ", now=1_700_000_010)
    assert not signing.verify(SECRET, header, body, now=1_700_000_000 + 301)  # replayed too late
    assert not signing.verify(SECRET, "v1=" + header.split("v1=")[1], body)  # no timestamp
    assert not signing.verify(SECRET, "garbage", body)


def test_a_secret_under_another_key_is_reported_not_used(db, settings) -> None:
    tenant = Tenant.objects.create(name="Acme", slug="acme")
    endpoint = WebhookEndpoint(tenant=tenant, url="https://crm.acme.example/hooks")
    endpoint.secret = SECRET
    endpoint.save()
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40  # rotated without keeping the old key
    with pytest.raises(crypto.SecretUnreadable, match="FIELD_ENCRYPTION_KEY"):
        _ = WebhookEndpoint.objects.get().secret
