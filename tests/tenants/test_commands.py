"""Management commands: `seed_demo` (idempotent), `webphone_token` (one line that verifies), `add_tenant`."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from zorio_widget.tenants.models import ApiKey, Extension, Tenant, Theme
from zorio_widget.tenants.tokens import token_generator

API_KEY_LINE = re.compile(r"^API key: (\S+)$")


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "tenants": Tenant.objects.count(),
        "extensions": Extension.objects.count(),
        "users": get_user_model().objects.count(),
        "themes": Theme.objects.count(),
    }


def api_key_of(output: str) -> str:
    lines = [line for line in output.splitlines() if API_KEY_LINE.match(line)]
    assert len(lines) == 1, output
    match = API_KEY_LINE.match(lines[0])
    assert match is not None
    return match.group(1)


@pytest.mark.django_db
def test_seed_demo_creates_the_demo_tenant() -> None:
    key = api_key_of(seed())
    tenant = Tenant.objects.get(slug="demo")
    assert tenant.enabled
    assert tenant.allows_origin("http://127.0.0.1:5173") and tenant.allows_origin("http://localhost:8000")
    assert not tenant.allows_origin("https://evil.example")
    agents = {e.number: (e.user.get_username() if e.user else None) for e in tenant.extensions.all()}
    assert agents == {"1001": "alice", "1002": "bob", "1003": "carol", "1004": "dave"}
    assert Theme.objects.filter(tenant=tenant, is_default=True).count() == 1
    api_key = ApiKey.objects.verify(key)
    assert api_key is not None and api_key.tenant == tenant


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_a_new_key_each_run() -> None:
    first_key = api_key_of(seed())
    first_counts = counts()
    second_key = api_key_of(seed())
    assert counts() == first_counts
    assert first_key != second_key
    assert ApiKey.objects.verify(first_key) is not None
    assert ApiKey.objects.verify(second_key) is not None
    assert Tenant.objects.get(slug="demo").origin_patterns == ["http://127.0.0.1:*", "http://localhost:*"]


@pytest.mark.django_db
def test_seed_demo_load_test_extensions_are_created_once() -> None:
    seed("--extensions", "5")
    seed("--extensions", "5")
    seed("--extensions", "3")
    numbers = sorted(Extension.objects.filter(tenant__slug="demo").values_list("number", flat=True))
    assert numbers == ["1001", "1002", "1003", "1004", "2000", "2001", "2002", "2003", "2004"]


@pytest.mark.django_db
def test_seed_demo_restores_a_removed_origin() -> None:
    seed()
    Tenant.objects.filter(slug="demo").update(allowed_origins="https://crm.example")
    seed()
    patterns = Tenant.objects.get(slug="demo").origin_patterns
    assert patterns == ["https://crm.example", "http://127.0.0.1:*", "http://localhost:*"]


@pytest.mark.django_db
def test_webphone_token_prints_exactly_one_line_that_verifies() -> None:
    seed()
    out = StringIO()
    call_command("webphone_token", "1001", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0] == out.getvalue().strip()
    extension, claims = token_generator.resolve(lines[0])
    assert extension.number == "1001" and extension.tenant.slug == "demo"
    assert claims.expires_at > 0


@pytest.mark.django_db
def test_webphone_token_ttl_and_errors() -> None:
    seed()
    out = StringIO()
    call_command("webphone_token", "1002", "--ttl", "60", stdout=out)
    _extension, claims = token_generator.resolve(out.getvalue().strip())
    token_now = token_generator._now()
    assert token_now < claims.expires_at <= token_now + 60
    with pytest.raises(CommandError, match="No extension"):
        call_command("webphone_token", "9999", stdout=StringIO())
    with pytest.raises(CommandError, match="No extension"):
        call_command("webphone_token", "1001", "--tenant", "nope", stdout=StringIO())
    with pytest.raises(CommandError, match="ttl"):
        call_command("webphone_token", "1001", "--ttl", "0", stdout=StringIO())


def add_tenant(*args: str) -> str:
    out = StringIO()
    call_command("add_tenant", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_add_tenant_creates_a_tenant_with_origins_extensions_and_a_key() -> None:
    output = add_tenant("globex", "Globex Corp", "--origin", "https://crm.globex.example/",
                        "--origin", "http://127.0.0.1:*", "--extension", "2001:Gina", "--extension", "2002")
    tenant = Tenant.objects.get(slug="globex")
    assert tenant.name == "Globex Corp" and tenant.enabled
    assert tenant.origin_patterns == ["https://crm.globex.example", "http://127.0.0.1:*"]
    assert tenant.allows_origin("http://127.0.0.1:5173") and not tenant.allows_origin("https://evil.example")
    names = {e.number: e.display_name for e in tenant.extensions.all()}
    assert names == {"2001": "Gina", "2002": ""}
    key = ApiKey.objects.verify(api_key_of(output))
    assert key is not None and key.tenant == tenant


@pytest.mark.django_db
def test_add_tenant_again_updates_and_prints_no_key() -> None:
    add_tenant("globex", "Globex", "--origin", "https://a.example", "--extension", "2001:Gina", "--extension", "2002:Gus")
    before = counts(), ApiKey.objects.count()
    output = add_tenant("globex", "Globex Corporation", "--extension", "2001", "--extension", "2002:Gustav")
    assert not [line for line in output.splitlines() if line.startswith("API key")]
    assert (counts(), ApiKey.objects.count()) == before
    tenant = Tenant.objects.get(slug="globex")
    assert tenant.name == "Globex Corporation"
    assert tenant.origin_patterns == ["https://a.example"]  # no --origin: the list is kept
    assert {e.number: e.display_name for e in tenant.extensions.all()} == {"2001": "Gina", "2002": "Gustav"}
    # Origins given replace the list; a new extension is added beside the others.
    add_tenant("globex", "Globex Corporation", "--origin", "https://b.example", "--origin", "https://b.example",
               "--extension", "2003:Gail")
    tenant.refresh_from_db()
    assert tenant.origin_patterns == ["https://b.example"]
    assert sorted(tenant.extensions.values_list("number", flat=True)) == ["2001", "2002", "2003"]


@pytest.mark.django_db
def test_add_tenant_leaves_other_tenants_alone() -> None:
    seed()
    demo_before = list(Extension.objects.filter(tenant__slug="demo").values_list("number", "display_name"))
    add_tenant("globex", "Globex", "--extension", "1001:Mallory")
    assert list(Extension.objects.filter(tenant__slug="demo").values_list("number", "display_name")) == demo_before
    assert Extension.objects.get(tenant__slug="globex", number="1001").display_name == "Mallory"


@pytest.mark.django_db
@pytest.mark.parametrize(("args", "message"), [
    (["not a slug", "X"], "slug"),
    (["globex", " "], "NAME"),
    (["globex", "X", "--origin", "globex.example"], "origin"),
    (["globex", "X", "--origin", "https://globex.example/path"], "origin"),
    (["globex", "X", "--extension", "12a"], "NUMBER"),
    (["globex", "X", "--extension", ":Gina"], "NUMBER"),
])
def test_add_tenant_refuses_bad_arguments_and_changes_nothing(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        add_tenant(*args)
    assert not Tenant.objects.filter(slug="globex").exists()
