"""`manage.py add_trunk`: create, update in place, refuse bad input without changing anything."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from zorio_widget.tenants.models import Tenant
from zorio_widget.trunks.models import Did, Trunk

pytestmark = pytest.mark.django_db


def add_trunk(*args: str) -> str:
    out = StringIO()
    call_command("add_trunk", *args, stdout=out)
    return out.getvalue()


def test_creates_a_trunk_with_dids_prefixes_and_caller_id(tenant: Tenant) -> None:
    out = add_trunk("acme", "telnyx", "--uri", "sip:user1:p%40ss@sip.telnyx.com:5060;transport=udp", "--register",
                    "--outbound-prefix", "0", "--outbound-prefix", "+84", "--did", "+842838001234=1001",
                    "--did", "842838001235=2000", "--caller-id", "842838001234")
    trunk = Trunk.objects.get(tenant=tenant, name="telnyx")
    assert (trunk.host, trunk.port, trunk.transport, trunk.username, trunk.password) == (
        "sip.telnyx.com", 5060, "udp", "user1", "p@ss")
    assert trunk.register and trunk.prefixes == ["0", "+84"] and trunk.default_caller_id == "842838001234"
    assert dict(trunk.dids.values_list("number", "target")) == {"+842838001234": "1001", "842838001235": "2000"}
    assert "created" in out and "p@ss" not in out and "p%40ss" not in out
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM trunks_trunk WHERE id = %s", [trunk.pk])
        assert "p@ss" not in cursor.fetchone()[0]


def test_running_again_updates_the_same_trunk(tenant: Tenant) -> None:
    add_trunk("acme", "pbx", "--uri", "sip:u:one@10.0.0.5:5070;transport=tcp", "--register", "--did", "100=1001")
    out = add_trunk("acme", "pbx", "--uri", "sip:u@10.0.0.6", "--did", "200=1002")
    trunk = Trunk.objects.get(tenant=tenant, name="pbx")
    assert Trunk.objects.filter(tenant=tenant).count() == 1 and "updated" in out
    assert (trunk.host, trunk.port, trunk.transport) == ("10.0.0.6", 5060, "udp")
    assert trunk.password == "one", "a URI without a password keeps the stored one"
    assert not trunk.register
    assert list(trunk.dids.values_list("number", flat=True)) == ["200"]


@pytest.mark.parametrize("args", [
    ("nosuch", "t", "--uri", "sip:u:p@h"),
    ("acme", "t", "--uri", "http://h"),
    ("acme", "t", "--uri", "sips:u:p@h"),
    ("acme", "t", "--uri", "sip:u:p@h;transport=tls"),
    ("acme", "t", "--uri", "sip:u:p@h;lr"),
    ("acme", "t", "--uri", "sip:h", "--register"),
    ("acme", "t", "--uri", "sip:u:p@h", "--did", "12ab=1001"),
    ("acme", "t", "--uri", "sip:u:p@h", "--did", "100"),
    ("acme", "t", "--uri", "sip:u:p@h", "--outbound-prefix", "x"),
    ("acme", "t", "--uri", "sip:u:p@h", "--caller-id", "not-a-number"),
    ("acme", "t" * 61, "--uri", "sip:u:p@h"),
])
def test_bad_input_is_refused_and_changes_nothing(tenant: Tenant, args: tuple[str, ...]) -> None:
    with pytest.raises((CommandError, SystemExit)):
        call_command("add_trunk", *args, stdout=StringIO(), stderr=StringIO())
    assert Trunk.objects.count() == 0


def test_a_did_of_another_trunk_is_refused_atomically(tenant: Tenant) -> None:
    add_trunk("acme", "a", "--uri", "sip:u:p@one.example", "--did", "100=1001")
    with pytest.raises(CommandError, match="already belongs"):
        add_trunk("acme", "b", "--uri", "sip:u:p@two.example", "--did", "100=1002")
    assert not Trunk.objects.filter(name="b").exists()
    assert Did.objects.get(number="100").target == "1001"
