"""Allowed-origin patterns: `*` stands for a port or a run of host labels, nothing else."""

import pytest

from zorio_widget.tenants.models import Tenant
from zorio_widget.tenants.origins import origin_matches

PATTERNS = ["http://127.0.0.1:*", "https://*.example.com", "https://crm.acme.example"]


@pytest.mark.parametrize("origin", [
    "http://127.0.0.1:5173",
    "http://127.0.0.1:8000",
    "https://app.example.com",
    "https://a.b.example.com",
    "https://crm.acme.example",
    "HTTPS://CRM.ACME.EXAMPLE",
    "https://crm.acme.example/",
])
def test_matching_origins(origin: str) -> None:
    assert origin_matches(origin, PATTERNS)


@pytest.mark.parametrize("origin", [
    "",
    "null",
    "https://127.0.0.1:5173",  # scheme differs
    "http://127.0.0.2:5173",
    "http://127.0.0.1:5173.evil.test",
    "http://127.0.0.1",  # `:*` needs a port
    "https://example.com.evil.test",
    "https://evil.test/https://app.example.com",
    "https://crm.acme.example.evil.test",
    "http://crm.acme.example",
])
def test_non_matching_origins(origin: str) -> None:
    assert not origin_matches(origin, PATTERNS)


def test_tenant_patterns_ignore_blank_lines(db: None) -> None:
    tenant = Tenant(name="T", slug="t", allowed_origins="\n  http://localhost:*  \n\n")
    assert tenant.origin_patterns == ["http://localhost:*"]
    assert tenant.allows_origin("http://localhost:3000")
    assert not Tenant(name="U", slug="u", allowed_origins="").allows_origin("http://localhost:3000")
