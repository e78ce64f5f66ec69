"""Under /api/ every failure is a JSON `{"code", "message"}`, never an HTML page; codes, statuses and
default messages come from the error catalogue."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path

from zorio_widget.api.errors import ApiError, error_response
from zorio_widget.protocol.errors import REST_ERRORS


def _raise_404(request: HttpRequest) -> HttpResponse:
    raise Http404("no such thing")


def _raise_403(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def _crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


# The project's URLs plus views that fail the ways Django views fail (used with `pytest.mark.urls`).
urlpatterns = [
    path("api/test/raise-404", _raise_404),
    path("api/test/raise-403", _raise_403),
    path("api/test/crash", _crash),
    path("", include("zorio_widget.urls")),
]


def assert_json_error(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == code
    assert response.json()["message"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/", "/api/nope", "/api/webphone/", "/api/webphone/nope", "/api/webphone/tokens/x"])
def test_unknown_api_paths_are_json_404(client: Client, path: str) -> None:
    assert_json_error(client.get(path), 404, "not_found")
    assert_json_error(client.post(path, "{}", content_type="application/json"), 404, "not_found")


@pytest.mark.django_db
@pytest.mark.parametrize("method, path, allow", [
    ("get", "/api/webphone/tokens", "POST"),
    ("put", "/api/webphone/tokens", "POST"),
    ("put", "/api/webphone/calls", "GET, POST"),  # POST is click-to-call
    ("delete", "/api/webphone/calls", "GET, POST"),
])
def test_wrong_methods_are_json_405(client: Client, method: str, path: str, allow: str) -> None:
    response = getattr(client, method)(path)
    assert_json_error(response, 405, "method_not_allowed")
    assert response["Allow"] == allow


@pytest.mark.urls(__name__)
def test_exceptions_raised_by_api_views_keep_their_status(client: Client) -> None:
    assert_json_error(client.get("/api/test/raise-404"), 404, "not_found")
    assert_json_error(client.get("/api/test/raise-403"), 403, "forbidden")


@pytest.mark.urls(__name__)
def test_a_crash_is_a_json_500(db: None) -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/api/test/crash")
    assert_json_error(response, 500, "server_error")
    assert "boom" not in response.content.decode()


@pytest.mark.django_db
def test_pages_outside_the_api_keep_html_errors(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("code", list(REST_ERRORS))
def test_every_rest_code_answers_with_its_catalogue_status_and_message(code: str) -> None:
    response = error_response(code)
    assert response.status_code == REST_ERRORS[code].http_status
    assert json.loads(response.content) == {"code": code, "message": REST_ERRORS[code].message}
    assert json.loads(error_response(code, "More precise.").content)["message"] == "More precise."


def test_an_api_error_takes_only_catalogue_codes() -> None:
    assert ApiError("not_found").message == REST_ERRORS["not_found"].message
    with pytest.raises(ValueError, match="not a REST error code"):
        ApiError("no_such_code", "x")


@pytest.mark.django_db
def test_djangos_own_error_pages_get_the_catalogue_message(client: Client) -> None:
    assert client.get("/api/nope").json() == {"code": "not_found", "message": REST_ERRORS["not_found"].message}
    body = client.delete("/api/webphone/calls").json()
    assert body == {"code": "method_not_allowed", "message": REST_ERRORS["method_not_allowed"].message}
