"""Shared fixtures: a tenant with extensions, an API key and a token factory.

Tenants allow `http://127.0.0.1:*` (the demo's pattern) and one exact HTTPS origin.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from tests.live import LiveServer, start_live_server
from zorio_widget.tenants.models import ApiKey, Extension, Tenant
from zorio_widget.tenants.tokens import token_generator

ALLOWED_ORIGINS = "http://127.0.0.1:*\nhttps://crm.acme.example"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # seed_demo and the admin tests create users; the production hasher costs ~0.5 s a password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def _empty_static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("staticfiles")


@pytest.fixture(autouse=True)
def _unhashed_static_files(settings, _empty_static_root: Path) -> None:
    # The manifest storage needs `collectstatic` first (`make run` does it); tests render templates
    # from the source tree. tests/test_static_files.py covers the manifest storage itself. An
    # existing (empty) STATIC_ROOT keeps whitenoise from warning "No directory at" on every client.
    settings.STATIC_ROOT = _empty_static_root
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


@pytest.fixture
def tenant(db: None) -> Tenant:
    return Tenant.objects.create(name="Acme", slug="acme", allowed_origins=ALLOWED_ORIGINS)


@pytest.fixture
def other_tenant(db: None) -> Tenant:
    return Tenant.objects.create(name="Globex", slug="globex", allowed_origins="https://globex.example")


@pytest.fixture
def extension(tenant: Tenant) -> Extension:
    user = get_user_model().objects.create_user("alice", email="alice@acme.example", first_name="Alice")
    return Extension.objects.create(tenant=tenant, number="1001", display_name="Alice Agent", user=user)


@pytest.fixture
def api_key(tenant: Tenant) -> str:
    """The raw secret of a fresh API key of `tenant`."""
    _key, raw = ApiKey.objects.create_key(tenant, name="tests")
    return raw


@pytest.fixture
def make_token() -> Callable[..., str]:
    def make(extension: Extension, ttl_s: int | None = None) -> str:
        token, _claims = token_generator.make_token(extension, ttl_s)
        return token

    return make


@pytest.fixture
def token(extension: Extension, make_token: Callable[..., str]) -> str:
    return make_token(extension)


@pytest.fixture(scope="session")
def daphne_server() -> Iterator[LiveServer]:
    """A real Daphne process with a fresh seeded database (named so as not to clash with pytest-django's `live_server`).

    Short ring timeout and re-attach grace so the timeout paths are testable quickly.
    """
    server = start_live_server({"RING_TIMEOUT_S": "3", "REATTACH_GRACE_S": "3"})
    yield server
    server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running in the main
    thread for the rest of the session, where pytest-asyncio could no longer start its own."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
