"""Turns every failure under `/api/` into a JSON error, including 404s and crashes."""

import logging
from collections.abc import Callable

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse

from zorio_widget.api.errors import ApiError, error_response

logger = logging.getLogger(__name__)

_CODE_BY_STATUS = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
_DJANGO_HANDLED = (Http404, PermissionDenied, BadRequest, SuspiciousOperation)
_MESSAGE_BY_CODE = {
    "bad_request": "Bad request.",
    "forbidden": "Forbidden.",
    "not_found": "No such API endpoint.",
    "method_not_allowed": "This method is not allowed here.",
    "server_error": "Internal server error.",
}


class JsonErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/") and response.status_code >= 400 and not _is_json(response):
            code = _CODE_BY_STATUS.get(response.status_code, "server_error")
            json_response = error_response(code, _MESSAGE_BY_CODE[code])
            if "Allow" in response:  # a 405 must say what is allowed
                json_response["Allow"] = response["Allow"]
            return json_response
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith("/api/"):
            return None
        if isinstance(exception, ApiError):
            return error_response(exception.code, exception.message, exception.headers)
        if isinstance(exception, _DJANGO_HANDLED):
            return None  # Django turns these into 400/403/404 responses; __call__ makes them JSON.
        logger.exception("unhandled API error on %s", request.path)
        return error_response("server_error", "Internal server error.")


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")
