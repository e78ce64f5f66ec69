"""Turns every failure under `/api/` into a JSON error, including 404s and crashes."""

import logging
from collections.abc import Callable

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse

from zorio_widget.api.errors import ApiError, error_response
from zorio_widget.protocol.errors import REST_ERRORS

logger = logging.getLogger(__name__)

#: The codes of the error pages Django itself makes (by their catalogue status); any other
#: non-JSON failure under /api/ is a `server_error`.
_CODE_BY_STATUS = {REST_ERRORS[code].http_status: code
                   for code in ("bad_request", "forbidden", "not_found", "method_not_allowed")}
_DJANGO_HANDLED = (Http404, PermissionDenied, BadRequest, SuspiciousOperation)


class JsonErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/") and response.status_code >= 400 and not _is_json(response):
            code = _CODE_BY_STATUS.get(response.status_code, "server_error")
            json_response = error_response(code)  # the catalogue's message: Django's page is not sent
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
        return error_response("server_error")


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")
