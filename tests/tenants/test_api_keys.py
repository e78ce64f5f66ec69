"""API keys: only a keyed hash is stored, lookup goes through the prefix, revoked keys fail."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from zorio_widget.tenants.models import API_KEY_PREFIX_LEN, ApiKey, Tenant


def test_raw_key_is_returned_once_and_never_stored(tenant: Tenant) -> None:
    key, raw = ApiKey.objects.create_key(tenant, name="crm")
    assert len(raw) >= 40  # 32 random bytes, url-safe base64
    assert key.prefix == raw[:API_KEY_PREFIX_LEN]
    assert len(key.hashed_key) == 64
    stored = ApiKey.objects.values().get(pk=key.pk)
    for value in stored.values():
        assert raw not in str(value)
    assert raw not in str(key)
    assert str(key).startswith(key.prefix)


def test_each_key_is_new(tenant: Tenant) -> None:
    raws = {ApiKey.objects.create_key(tenant)[1] for _ in range(5)}
    assert len(raws) == 5


def test_verify_finds_the_key_by_prefix(tenant: Tenant) -> None:
    key, raw = ApiKey.objects.create_key(tenant)
    with CaptureQueriesContext(connection) as queries:
        found = ApiKey.objects.verify(raw)
    assert found == key
    assert found is not None and found.tenant == tenant
    assert len(queries) == 1
    assert "prefix" in queries[0]["sql"]


def test_verify_refuses_wrong_short_and_revoked_keys(tenant: Tenant) -> None:
    key, raw = ApiKey.objects.create_key(tenant)
    assert ApiKey.objects.verify(raw[:-1] + ("a" if raw[-1] != "a" else "b")) is None  # same prefix, wrong secret
    assert ApiKey.objects.verify(raw[:API_KEY_PREFIX_LEN]) is None
    assert ApiKey.objects.verify("short") is None
    assert ApiKey.objects.verify("") is None
    key.revoked = True
    key.save()
    assert ApiKey.objects.verify(raw) is None


def test_keys_sharing_a_prefix_are_told_apart(tenant: Tenant, other_tenant: Tenant) -> None:
    key, raw = ApiKey.objects.create_key(tenant)
    # A second key with the same prefix (a collision) must not shadow the first.
    _other, other_raw = ApiKey.objects.create_key(other_tenant)
    ApiKey.objects.filter(pk=_other.pk).update(prefix=key.prefix)
    assert ApiKey.objects.verify(raw) == key
    assert ApiKey.objects.verify(other_raw) is None  # its prefix no longer matches the stored one


def test_hash_depends_on_secret_key(tenant: Tenant, settings) -> None:
    _key, raw = ApiKey.objects.create_key(tenant)
    settings.SECRET_KEY = "rotated-secret-key-rotated-secret-key-rotated"
    assert ApiKey.objects.verify(raw) is None
