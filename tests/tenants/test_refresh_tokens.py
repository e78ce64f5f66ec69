"""Refresh tokens (zorio_widget/tenants/refresh.py): issue, rotate once, reuse revokes the family, expiry."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from zorio_widget.tenants.models import Extension, RefreshToken
from zorio_widget.tenants.refresh import PREFIX, RefreshTokens, refresh_tokens
from zorio_widget.tenants.tokens import TokenError, token_generator


def test_issue_makes_a_token_and_the_first_link_of_a_new_family(extension: Extension) -> None:
    issued = refresh_tokens.issue(extension, 600)
    assert token_generator.resolve(issued.token)[0] == extension
    assert issued.refresh_token.startswith(PREFIX) and len(issued.refresh_token) > 40
    row = RefreshToken.objects.get()
    assert (row.extension, row.tenant_id, row.token_ttl_s, row.used_at, row.revoked) == (extension, extension.tenant_id, 600, None, False)
    assert issued.refresh_token not in row.hashed_token and len(row.hashed_token) == 64  # only a keyed hash is kept
    assert abs((row.expires_at - timezone.now()).total_seconds() - settings.REFRESH_TOKEN_TTL_S) < 5
    other = refresh_tokens.issue(extension, 600)
    assert RefreshToken.objects.get(hashed_token__isnull=False, pk__gt=row.pk).family != row.family
    assert other.refresh_token != issued.refresh_token


def test_each_refresh_token_works_once_and_its_successor_joins_the_family(extension: Extension) -> None:
    first = refresh_tokens.issue(extension, 120)
    second = refresh_tokens.rotate(first.refresh_token)
    third = refresh_tokens.rotate(second.refresh_token)
    assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
    assert len({first.token, second.token, third.token}) <= 3
    for issued in (second, third):
        extension_of, claims = token_generator.resolve(issued.token)
        assert extension_of == extension
        assert claims.expires_at - token_generator._now() <= 120  # the chain keeps the first ttl
    rows = list(RefreshToken.objects.order_by("pk"))
    assert len({r.family for r in rows}) == 1
    assert [r.used_at is not None for r in rows] == [True, True, False]


def test_a_reused_refresh_token_revokes_its_whole_family(extension: Extension) -> None:
    first = refresh_tokens.issue(extension, 120)
    unrelated = refresh_tokens.issue(extension, 120)
    second = refresh_tokens.rotate(first.refresh_token)
    with pytest.raises(TokenError) as reused:
        refresh_tokens.rotate(first.refresh_token)  # a thief (or a stale tab) presents the used one
    assert reused.value.code == "unauthorized" and "already used" in reused.value.message
    with pytest.raises(TokenError) as revoked:
        refresh_tokens.rotate(second.refresh_token)  # the legitimate successor is dead too
    assert revoked.value.code == "unauthorized" and "revoked" in revoked.value.message
    family = RefreshToken.objects.get(used_at__isnull=True, revoked=True).family
    assert RefreshToken.objects.filter(family=family).exclude(revoked=True).count() == 0
    assert refresh_tokens.rotate(unrelated.refresh_token).token  # another session is untouched


def test_unknown_expired_and_disabled(extension: Extension) -> None:
    with pytest.raises(TokenError) as unknown:
        refresh_tokens.rotate(PREFIX + "x" * 43)
    assert unknown.value.code == "unauthorized"
    with pytest.raises(TokenError):
        refresh_tokens.rotate("not even the format")

    class Later(RefreshTokens):
        def _now(self):  # type: ignore[no-untyped-def]
            return timezone.now() + timedelta(seconds=settings.REFRESH_TOKEN_TTL_S + 1)

    stale = refresh_tokens.issue(extension, 60)
    with pytest.raises(TokenError) as expired:
        Later().rotate(stale.refresh_token)
    assert expired.value.code == "token_expired"
    assert RefreshToken.objects.get().used_at is None  # a refused rotation changes nothing

    Extension.objects.filter(pk=extension.pk).update(enabled=False)
    with pytest.raises(TokenError) as disabled:
        refresh_tokens.rotate(stale.refresh_token)
    assert disabled.value.code == "webphone_disabled"
    assert RefreshToken.objects.get().used_at is None


def test_a_foreign_origin_is_refused_before_anything_changes(extension: Extension) -> None:
    issued = refresh_tokens.issue(extension, 60)
    with pytest.raises(TokenError) as foreign:
        refresh_tokens.rotate(issued.refresh_token, origin="https://evil.example")
    assert foreign.value.code == "forbidden"
    assert RefreshToken.objects.get().used_at is None
    assert refresh_tokens.rotate(issued.refresh_token, origin="https://crm.acme.example").token


def test_a_token_used_by_another_request_meanwhile_counts_as_a_reuse(extension: Extension) -> None:
    """Two requests race with one token: the other wins between our read and our claim (the conditional
    UPDATE finds it used), so this one is a reuse and the family, the winner's successor included, is revoked."""
    issued = refresh_tokens.issue(extension, 60)
    won: list[str] = []

    class Racing(RefreshTokens):
        def _now(self):  # type: ignore[no-untyped-def]
            if not won:  # called after the row was read, right before it is claimed
                won.append(refresh_tokens.rotate(issued.refresh_token).refresh_token)
            return super()._now()

    with pytest.raises(TokenError) as lost:
        Racing().rotate(issued.refresh_token)
    assert lost.value.code == "unauthorized" and "already used" in lost.value.message
    assert len(won) == 1
    assert RefreshToken.objects.filter(revoked=False).count() == 0
    with pytest.raises(TokenError):
        refresh_tokens.rotate(won[0])


@pytest.mark.django_db
def test_webphone_token_refresh_prints_a_second_line_that_rotates() -> None:
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command("webphone_token", "1001", "--ttl", "90", "--refresh", stdout=out)
    token, refresh = out.getvalue().splitlines()
    assert token_generator.resolve(token)[0].number == "1001"
    renewed = refresh_tokens.rotate(refresh)
    assert token_generator.resolve(renewed.token)[0].number == "1001"
    plain = StringIO()
    call_command("webphone_token", "1001", stdout=plain)
    assert len(plain.getvalue().splitlines()) == 1
