"""JSON error bodies of the REST API (DESIGN.md §3, §8): `{"code", "message"}`, never HTML."""

from django.http import JsonResponse

STATUS_BY_CODE = {
    "bad_request": 400,
    "unauthorized": 401,
    "token_expired": 401,
    "forbidden": 403,
    "webphone_disabled": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "incomplete_sip_config": 422,
    "rate_limited": 429,
    "server_error": 500,
}


class ApiError(Exception):
    """An error reply; `headers` go on the response too (e.g. `Retry-After` with `rate_limited`)."""

    def __init__(self, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(code: str, message: str, headers: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=STATUS_BY_CODE[code], headers=headers)
