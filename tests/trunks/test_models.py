"""The Trunk model: the password is encrypted at rest, routing by prefix, configs for the user agent."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from zorio_widget.tenants.models import Tenant
from zorio_widget.trunks import crypto
from zorio_widget.trunks.config import trunk_config, trunk_configs
from zorio_widget.trunks.models import Did, Trunk, trunk_for_destination

pytestmark = pytest.mark.django_db


def raw_password(trunk: Trunk) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM trunks_trunk WHERE id = %s", [trunk.pk])
        return str(cursor.fetchone()[0])


def test_password_is_not_stored_in_clear_and_reads_back(tenant: Tenant) -> None:
    trunk = Trunk.objects.create(tenant=tenant, name="t", host="sip.example.com", username="u",
                                 password="correct horse battery")
    stored = raw_password(trunk)
    assert "correct horse" not in stored and stored.startswith("gAAAAA")  # a Fernet token
    assert Trunk.objects.get(pk=trunk.pk).password == "correct horse battery"


def test_field_encryption_key_is_used_and_rotation_keeps_old_tokens_readable(tenant: Tenant, settings) -> None:
    first = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = first
    trunk = Trunk.objects.create(tenant=tenant, name="t", host="h", password="pw1")
    assert Fernet(first.encode()).decrypt(raw_password(trunk).encode()) == b"pw1"
    settings.FIELD_ENCRYPTION_KEY = f"{Fernet.generate_key().decode()},{first}"
    assert Trunk.objects.get(pk=trunk.pk).password == "pw1"
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    settings.SECRET_KEY = "another-secret-key-" * 3
    assert Trunk.objects.get(pk=trunk.pk).password == "", "an unreadable token must not leak or crash"


def test_key_derived_from_secret_key_differs_per_secret() -> None:
    assert crypto.derived_key("a" * 40) != crypto.derived_key("b" * 40)
    Fernet(crypto.derived_key("a" * 40))  # a valid Fernet key


def test_destination_goes_to_the_longest_prefix_or_the_only_trunk(tenant: Tenant, other_tenant: Tenant) -> None:
    only = Trunk.objects.create(tenant=tenant, name="only", host="a")
    assert trunk_for_destination(tenant, "0912345678") == only
    mobile = Trunk.objects.create(tenant=tenant, name="mobile", host="b", outbound_prefixes="09\n+849")
    intl = Trunk.objects.create(tenant=tenant, name="intl", host="c", outbound_prefixes="+")
    assert trunk_for_destination(tenant, "0912345678") == mobile
    assert trunk_for_destination(tenant, "+84912345678") == mobile
    assert trunk_for_destination(tenant, "+14155551234") == intl
    assert trunk_for_destination(tenant, "0283") is None  # two trunks and no prefix: not a guess
    intl.enabled = False
    intl.save()
    assert trunk_for_destination(tenant, "+14155551234") is None
    assert trunk_for_destination(other_tenant, "0912345678") is None


def test_config_for_the_user_agent(tenant: Tenant) -> None:
    trunk = Trunk.objects.create(tenant=tenant, name="t", host="sip.example.com", port=5080, transport="tcp",
                                 username="u", password="s3cr3t-value", register=True, outbound_prefixes="0\n+84",
                                 caller_ids="842800\n842801", default_caller_id="842800", max_channels=10)
    Did.objects.create(trunk=trunk, number="+842838001234", target="1001")
    config = trunk_config(trunk)
    assert (config.host, config.port, config.transport, config.username, config.password) == (
        "sip.example.com", 5080, "tcp", "u", "s3cr3t-value")
    assert config.register and config.outbound_prefixes == ("0", "+84") and config.max_channels == 10
    assert config.target_for("842838001234") == "1001" and config.target_for("+842838001234") == "1001"
    assert config.caller_id_for("842801") == "842801" and config.caller_id_for("999") == "842800"
    assert "s3cr3t-value" not in repr(config), "the password must not reach logs through repr"
    tenant.enabled = False
    tenant.save()
    assert trunk_configs() == []
