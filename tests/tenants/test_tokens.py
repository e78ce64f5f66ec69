"""Webphone tokens: mint, verify, expiry (through the `_now()` seam), tampering, tenant binding."""

import pytest
from django.core import signing

from zorio_widget.tenants.models import Extension, Tenant
from zorio_widget.tenants.tokens import SALT, TokenError, WebphoneTokenGenerator

T0 = 1_800_000_000.0


class FrozenClock(WebphoneTokenGenerator):
    """A generator whose clock the test moves."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def _now(self) -> float:
        return self.now


def test_mint_then_verify_gives_the_extension_and_its_tenant(extension: Extension) -> None:
    gen = FrozenClock()
    token, claims = gen.make_token(extension, 600)
    assert claims.expires_at == int(T0) + 600
    assert gen.check_token(token) == claims
    resolved, resolved_claims = gen.resolve(token)
    assert resolved == extension
    assert resolved.tenant == extension.tenant
    assert resolved_claims == claims
    assert claims.tenant_id == extension.tenant_id and claims.extension_id == extension.pk


def test_expires_at_iso_is_utc_iso8601(extension: Extension) -> None:
    _token, claims = FrozenClock(T0).make_token(extension, 1)
    assert claims.expires_at_iso == "2027-01-15T08:00:01Z"


def test_default_ttl_comes_from_settings(extension: Extension, settings) -> None:
    settings.TOKEN_DEFAULT_TTL_S = 123
    _token, claims = FrozenClock().make_token(extension)
    assert claims.expires_at == int(T0) + 123


@pytest.mark.parametrize("ttl", [0, -5, 86401])
def test_ttl_out_of_range_is_refused(extension: Extension, ttl: int) -> None:
    with pytest.raises(ValueError):
        FrozenClock().make_token(extension, ttl)


def test_token_is_valid_until_the_last_second_then_expired(extension: Extension) -> None:
    gen = FrozenClock()
    token, _claims = gen.make_token(extension, 60)
    gen.now = T0 + 59.999
    gen.check_token(token)
    gen.now = T0 + 60
    with pytest.raises(TokenError) as exc:
        gen.check_token(token)
    assert exc.value.code == "token_expired"
    with pytest.raises(TokenError) as exc:
        gen.resolve(token)
    assert exc.value.code == "token_expired"


@pytest.mark.parametrize("mutate", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
    lambda t: "x" + t,  # payload changed
    lambda t: t.split(":")[0],  # signature removed
    lambda t: "",
    lambda t: "garbage",
])
def test_tampered_token_is_unauthorized(extension: Extension, mutate) -> None:
    gen = FrozenClock()
    token, _claims = gen.make_token(extension, 60)
    with pytest.raises(TokenError) as exc:
        gen.check_token(mutate(token))
    assert exc.value.code == "unauthorized"


def test_forged_claims_for_another_extension_fail_the_signature(extension: Extension, other_tenant: Tenant) -> None:
    victim = Extension.objects.create(tenant=other_tenant, number="1001")
    gen = FrozenClock()
    token, _claims = gen.make_token(extension, 60)
    payload = signing.loads(token, salt=SALT)
    forged_payload = signing.dumps({**payload, "t": other_tenant.pk, "e": victim.pk}, salt=SALT)
    # Take the forged payload with the genuine signature.
    forged = forged_payload.rsplit(":", 1)[0] + ":" + token.rsplit(":", 1)[1]
    with pytest.raises(TokenError) as exc:
        gen.check_token(forged)
    assert exc.value.code == "unauthorized"


def test_token_signed_with_another_salt_or_key_is_unauthorized(extension: Extension, settings) -> None:
    gen = FrozenClock()
    other_salt = signing.dumps({"t": extension.tenant_id, "e": extension.pk, "x": int(T0) + 60}, salt="other")
    with pytest.raises(TokenError):
        gen.check_token(other_salt)
    token, _claims = gen.make_token(extension, 60)
    settings.SECRET_KEY = "another-secret-key-entirely-different-from-the-first"
    with pytest.raises(TokenError) as exc:
        gen.check_token(token)
    assert exc.value.code == "unauthorized"


@pytest.mark.parametrize("payload", [{"t": 1, "e": 1}, {"t": "a", "e": 1, "x": 1}, [1, 2, 3], "text", None])
def test_signed_but_malformed_payload_is_unauthorized(payload: object) -> None:
    with pytest.raises(TokenError) as exc:
        FrozenClock().check_token(signing.dumps(payload, salt=SALT))
    assert exc.value.code == "unauthorized"


def test_claims_must_match_the_extension_tenant(extension: Extension, other_tenant: Tenant) -> None:
    """A validly signed token naming an extension under another tenant resolves to nothing."""
    gen = FrozenClock()
    token = signing.dumps({"t": other_tenant.pk, "e": extension.pk, "x": int(T0) + 60}, salt=SALT)
    with pytest.raises(TokenError) as exc:
        gen.resolve(token)
    assert exc.value.code == "unauthorized"


def test_tokens_of_two_tenants_resolve_to_their_own_extensions(extension: Extension, other_tenant: Tenant) -> None:
    theirs = Extension.objects.create(tenant=other_tenant, number="1001")
    gen = FrozenClock()
    mine_token, _ = gen.make_token(extension, 60)
    their_token, _ = gen.make_token(theirs, 60)
    assert mine_token != their_token
    assert gen.resolve(mine_token)[0] == extension
    assert gen.resolve(their_token)[0] == theirs


def test_deleted_extension_makes_the_token_unauthorized(extension: Extension) -> None:
    gen = FrozenClock()
    token, _claims = gen.make_token(extension, 60)
    extension.delete()
    with pytest.raises(TokenError) as exc:
        gen.resolve(token)
    assert exc.value.code == "unauthorized"


@pytest.mark.parametrize("disable", ["extension", "tenant"])
def test_disabling_takes_effect_on_tokens_already_issued(extension: Extension, disable: str) -> None:
    gen = FrozenClock()
    token, _claims = gen.make_token(extension, 60)
    target = extension if disable == "extension" else extension.tenant
    target.enabled = False
    target.save()
    with pytest.raises(TokenError) as exc:
        gen.resolve(token)
    assert exc.value.code == "webphone_disabled"
