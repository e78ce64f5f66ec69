"""After-call cards (DESIGN.md §5b): `POST /api/webphone/calls/<uuid>/card`.

The softphone iframe saves the card the agent filled in; it is stored on the call record and listed
by `GET /api/webphone/calls`. When the body carries the JSON Schema the card was rendered from, the
card is validated against it first (the `jsonschema` library), so a bad card changes nothing.
"""

import logging
import uuid as uuid_lib

import jsonschema
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from zorio_widget.api.auth import extension_from_bearer
from zorio_widget.api.errors import ApiError
from zorio_widget.api.views import json_body
from zorio_widget.calls.models import CallRecord

logger = logging.getLogger(__name__)

#: A card is agent-typed notes, not a file store.
MAX_CARD_BYTES = 32 * 1024


def _validate(card: dict[str, object], schema: object) -> None:
    if not isinstance(schema, dict):
        raise ApiError("bad_request", "'schema' must be a JSON Schema object.")
    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ApiError("bad_request", f"'schema' is not a valid JSON Schema: {exc.message}") from exc
    error = jsonschema.exceptions.best_match(validator_class(schema).iter_errors(card))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path)
        raise ApiError("bad_request", f"Invalid card{f' at {where!r}' if where else ''}: {error.message}")


@csrf_exempt
@require_POST
def save_card(request: HttpRequest, call_uuid: uuid_lib.UUID) -> JsonResponse:
    extension, _claims = extension_from_bearer(request)
    if len(request.body) > MAX_CARD_BYTES:
        raise ApiError("bad_request", f"The card is larger than {MAX_CARD_BYTES} bytes.")
    body = json_body(request)
    card = body.get("card")
    if not isinstance(card, dict):
        raise ApiError("bad_request", "'card' must be a JSON object.")
    if body.get("schema") is not None:
        _validate(card, body["schema"])
    record = CallRecord.objects.filter(uuid=call_uuid).first()
    if record is None:
        raise ApiError("not_found", "No such call.")
    if record.tenant_id != extension.tenant_id:
        raise ApiError("not_found", "No such call.")  # another tenant's calls do not exist for this token
    if extension.pk not in (record.from_extension_id, record.to_extension_id):
        raise ApiError("forbidden", "This call is not one of your extension's calls.")
    record.card = card
    record.save(update_fields=["card"])
    logger.info("call %s: card saved by %s", record.uuid, extension.number)
    return JsonResponse(record.as_api(viewer=extension))


__all__ = ["save_card", "MAX_CARD_BYTES"]
