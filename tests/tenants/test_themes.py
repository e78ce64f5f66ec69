"""Themes: one default per tenant, and the shape sent to the widget."""

import pytest
from django.db import IntegrityError, transaction

from zorio_widget.tenants.models import Tenant, Theme


def test_marking_a_theme_default_demotes_the_previous_one(tenant: Tenant, other_tenant: Tenant) -> None:
    first = Theme.objects.create(tenant=tenant, name="Blue", is_default=True)
    theirs = Theme.objects.create(tenant=other_tenant, name="Theirs", is_default=True)
    second = Theme.objects.create(tenant=tenant, name="Dark", is_default=True)
    first.refresh_from_db()
    assert not first.is_default
    assert list(Theme.objects.filter(tenant=tenant, is_default=True)) == [second]
    theirs.refresh_from_db()
    assert theirs.is_default  # another tenant's default is untouched
    first.is_default = True
    first.save()
    assert list(Theme.objects.filter(tenant=tenant, is_default=True)) == [first]


def test_database_refuses_two_defaults(tenant: Tenant) -> None:
    Theme.objects.create(tenant=tenant, name="Blue", is_default=True)
    other = Theme.objects.create(tenant=tenant, name="Dark")
    with pytest.raises(IntegrityError), transaction.atomic():
        Theme.objects.filter(pk=other.pk).update(is_default=True)


def test_model_validation_lets_a_new_default_replace_the_old(tenant: Tenant) -> None:
    """Forms (the admin) validate constraints before save(); the demotion must still be possible."""
    Theme.objects.create(tenant=tenant, name="Blue", is_default=True)
    theme = Theme(tenant=tenant, name="Dark", is_default=True)
    theme.full_clean()
    theme.save()
    assert list(Theme.objects.filter(tenant=tenant, is_default=True)) == [theme]


def test_non_default_themes_are_unlimited(tenant: Tenant) -> None:
    for i in range(3):
        Theme.objects.create(tenant=tenant, name=f"T{i}")
    assert Theme.objects.filter(tenant=tenant).count() == 3


def test_as_config_leaves_out_empty_colors(tenant: Tenant) -> None:
    theme = Theme.objects.create(tenant=tenant, name="Blue", mode="dark", default_layout="overlay",
                                 default_locale="vi", text_color="", background_color="#000000")
    config = theme.as_config()
    assert config == {
        "name": "Blue",
        "mode": "dark",
        "layout": "overlay",
        "locale": "vi",
        "logo_url": "",
        "primary_color": "#2563eb",
        "background_color": "#000000",
        "accent_color": "#16a34a",
        "danger_color": "#dc2626",
    }
