"""After-call cards: `POST /api/webphone/calls/<uuid>/card` (Bearer of a party of the call).

The softphone iframe saves the card the agent filled in, `{"card": {...}, "schema": {...}}`; it is
stored on the call record and listed by `GET /api/webphone/calls`. In order, and a failure at any
step changes nothing:

1. the call is looked up: an unknown uuid or another tenant's call is `not_found`, a call the token's
   extension is not a party of is `forbidden` — before anything in the body is looked at;
2. the body is parsed (`json_body`: any size or depth is a `bad_request`, never a crash) and the
   card checked against its limits (`MAX_CARD_BYTES`, `MAX_CARD_DEPTH`);
3. the card is validated against the tenant's `card_schema` when the admin set one (the client's
   `schema` then only drives rendering in the UI and is ignored here), else against the client's
   `schema` when it sent one. Validation is zorio_widget/api/card_schema.py: no `$ref` is ever
   fetched, regular expressions run on RE2, and the work is bounded;
4. the card is stored and its `card.saved` webhook queued in one transaction (zorio_widget/webhooks).
"""

import logging
import uuid as uuid_lib

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from zorio_widget.api.auth import extension_from_bearer
from zorio_widget.api.card_schema import (
    MAX_CARD_BYTES,
    MAX_SCHEMA_BYTES,
    UnusableSchema,
    check_card_limits,
    validate_card,
)
from zorio_widget.api.errors import ApiError
from zorio_widget.api.views import json_body
from zorio_widget.calls.models import CallRecord
from zorio_widget.webhooks.outbox import enqueue

logger = logging.getLogger(__name__)

#: The card and its schema, with room for the envelope and JSON escapes.
MAX_BODY_BYTES = 2 * (MAX_CARD_BYTES + MAX_SCHEMA_BYTES)


@csrf_exempt
@require_POST
def save_card(request: HttpRequest, call_uuid: uuid_lib.UUID) -> JsonResponse:
    extension, _claims = extension_from_bearer(request)
    record = CallRecord.objects.filter(uuid=call_uuid, tenant_id=extension.tenant_id).select_related("tenant").first()
    if record is None:
        raise ApiError("not_found", "No such call.")  # another tenant's calls do not exist for this token
    if extension.pk not in (record.from_extension_id, record.to_extension_id):
        raise ApiError("forbidden", "This call is not one of your extension's calls.")
    if len(request.body) > MAX_BODY_BYTES:
        raise ApiError("bad_request", f"The body is larger than {MAX_BODY_BYTES} bytes.")
    body = json_body(request)
    card = body.get("card")
    if not isinstance(card, dict):
        raise ApiError("bad_request", "'card' must be a JSON object.")
    check_card_limits(card)
    tenant_schema = record.tenant.card_schema
    if tenant_schema is not None:
        try:
            validate_card(card, tenant_schema)
        except UnusableSchema as exc:
            logger.error("call %s: tenant %s has an unusable card schema: %s",
                         record.uuid, record.tenant.slug, exc.message)
            raise ApiError("bad_request", f"The tenant's card schema is unusable ({exc.message}); "
                                          "ask your administrator.") from None
    elif body.get("schema") is not None:
        validate_card(card, body["schema"])
    record.card = card
    with transaction.atomic():  # the card.saved webhook exists exactly when the card does
        record.save(update_fields=["card"])
        enqueue(record.tenant_id, "card.saved", {"call": record.as_api(), "extension": extension.number})
    logger.info("call %s: card saved by %s", record.uuid, extension.number)
    return JsonResponse(record.as_api(viewer=extension))


__all__ = ["save_card", "MAX_BODY_BYTES", "MAX_CARD_BYTES"]
