"""`manage.py add_tenant SLUG NAME [--origin ORIGIN]... [--extension NUMBER[:NAME]]...`: provisioning.

Creates the tenant, or brings an existing one to what the command line says, so a script can run it
again and again: the name is set; `--origin`s, when given, replace the allowed origins; each
`--extension` is created, or renamed when a name follows its number. Only a run that creates the
tenant mints an API key (`API key: KEY`; more keys come from the admin), so the output of a repeated
run never carries a secret.
"""

import re
from argparse import ArgumentTypeError
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug
from django.db import transaction

from zorio_widget.tenants.models import ApiKey, Extension, Tenant

#: scheme://host[:port], where `*` may stand for a port or host labels (zorio_widget/tenants/origins.py).
_ORIGIN = re.compile(r"https?://[A-Za-z0-9*.-]+(?::(?:[0-9]{1,5}|\*))?", re.IGNORECASE)
_NUMBER = re.compile(r"[0-9]{1,32}")


def origin(value: str) -> str:
    cleaned = value.strip().rstrip("/")
    if not _ORIGIN.fullmatch(cleaned):
        raise ArgumentTypeError(f"{value!r} is not an origin like https://crm.example.com or http://127.0.0.1:*")
    return cleaned


def extension(value: str) -> tuple[str, str | None]:
    """`NUMBER` or `NUMBER:NAME` → (number, name or None when no name was given)."""
    number, colon, name = value.partition(":")
    if not _NUMBER.fullmatch(number):
        raise ArgumentTypeError(f"{value!r}: an extension is NUMBER or NUMBER:NAME, the number digits only")
    return number, name.strip() if colon else None


class Command(BaseCommand):
    help = ("Creates or updates a tenant with its allowed origins and extensions (idempotent); "
            "prints 'API key: KEY' when it creates the tenant.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The tenant's slug, e.g. acme (letters, digits, - and _).")
        parser.add_argument("name", help="The tenant's display name.")
        parser.add_argument("--origin", dest="origins", action="append", type=origin, metavar="ORIGIN",
                            help="An origin allowed to embed the phone; repeat for more. Given, they replace "
                                 "the tenant's list; `*` matches any port or host labels.")
        parser.add_argument("--extension", dest="extensions", action="append", type=extension, default=[],
                            metavar="NUMBER[:NAME]", help="An extension to create, or to rename; repeat for more.")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        slug, name, origins = options["slug"], options["name"].strip(), options["origins"]
        try:
            validate_slug(slug)
        except ValidationError as exc:
            raise CommandError(f"{slug!r} is not a slug (letters, digits, - and _).") from exc
        if not name:
            raise CommandError("NAME must not be empty.")
        tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": name})
        tenant.name = name
        if origins is not None:
            tenant.allowed_origins = "\n".join(dict.fromkeys(origins))
        tenant.save(update_fields=["name", "allowed_origins"])
        self.stdout.write(f"Tenant {slug} {'created' if created else 'updated'}: "
                          f"origins {', '.join(tenant.origin_patterns) or '(none)'}")
        for number, display_name in options["extensions"]:
            self._provision(tenant, number, display_name)
        if created:
            _key, raw = ApiKey.objects.create_key(tenant, name="add_tenant")
            self.stdout.write(f"API key: {raw}")

    def _provision(self, tenant: Tenant, number: str, display_name: str | None) -> None:
        ext, created = Extension.objects.get_or_create(tenant=tenant, number=number,
                                                       defaults={"display_name": display_name or ""})
        if created:
            self.stdout.write(f"Extension {number} created")
        elif display_name is not None and ext.display_name != display_name:
            ext.display_name = display_name
            ext.save(update_fields=["display_name"])
            self.stdout.write(f"Extension {number} renamed {display_name!r}")
