"""Webhooks: signed JSON POSTs of call and card events to each tenant's configured URL.

- `models`: `WebhookEndpoint` (a tenant's URL and its signing secret, encrypted at rest),
  `WebhookEvent` (the outbox: one row per event, its delivery state) and `WebhookAttempt` (the
  delivery log the admin shows).
- `outbox`: `enqueue(tenant_id, event_type, payload)`, usable inside the transaction that writes
  the record the event is about, and `enqueue_call_event` for call records.
- `signing`: the `Zorio-Signature: t=UNIX,v1=HMAC_SHA256(secret, "t.body")` header, and its check.
- `delivery`: the worker each server process runs (zorio_widget/ops/lifecycle.py).

Delivery is at least once: a receiver de-duplicates by the event `id` (also `Zorio-Event-Id`).
Only the URL an admin configured is ever contacted, and redirects are not followed.
"""
