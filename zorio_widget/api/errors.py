"""JSON error bodies of the REST API (README.md, "Try the API with curl"): `{"code", "message"}`, never HTML.

Codes, their HTTP statuses and default messages come from the one error catalogue
(zorio_widget/protocol/errors.py, `REST_ERRORS`).
"""

from django.http import JsonResponse

from zorio_widget.protocol.errors import REST_ERRORS


class ApiError(Exception):
    """An error reply; `headers` go on the response too (e.g. `Retry-After` with `rate_limited`).

    `code` must be a REST code of the catalogue (checked here, where the mistake is made, rather than
    when the response is built); without `message` the catalogue's default text is sent.
    """

    def __init__(self, code: str, message: str | None = None, headers: dict[str, str] | None = None) -> None:
        if code not in REST_ERRORS:
            raise ValueError(f"{code!r} is not a REST error code (zorio_widget/protocol/errors.py)")
        self.code = code
        self.message = message or REST_ERRORS[code].message
        self.headers = headers or {}
        super().__init__(self.message)


def error_response(code: str, message: str | None = None, headers: dict[str, str] | None = None) -> JsonResponse:
    """The JSON reply for `code`, with the catalogue's status (and default message when none is given)."""
    entry = REST_ERRORS[code]
    status = entry.http_status
    assert status is not None  # every REST entry has one (ErrorCode checks it)
    return JsonResponse({"code": code, "message": message or entry.message}, status=status, headers=headers)
