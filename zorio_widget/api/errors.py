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
    "server_error": 500,
}


class ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_response(code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=STATUS_BY_CODE[code])
