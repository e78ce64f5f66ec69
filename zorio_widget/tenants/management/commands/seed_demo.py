"""`manage.py seed_demo [--extensions N]`: the demo tenant, idempotent (docs/DESIGN.md §3)."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from zorio_widget.tenants.models import ApiKey, Extension, Tenant, Theme

DEMO_AGENTS = [("1001", "alice", "Alice"), ("1002", "bob", "Bob"), ("1003", "carol", "Carol"), ("1004", "dave", "Dave")]
DEMO_ORIGINS = "http://127.0.0.1:*\nhttp://localhost:*"
LOAD_TEST_FIRST_NUMBER = 2000


class Command(BaseCommand):
    help = "Creates (or completes) the demo tenant and its extensions; prints a new API key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--extensions", type=int, default=0, help="Also create N load-test extensions 2000…")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        count = options["extensions"]
        if count < 0:
            self.stderr.write("--extensions must be >= 0")
            raise SystemExit(2)
        tenant, _ = Tenant.objects.get_or_create(
            slug="demo", defaults={"name": "Demo", "allowed_origins": DEMO_ORIGINS}
        )
        missing = [o for o in DEMO_ORIGINS.splitlines() if o not in tenant.origin_patterns]
        if missing:
            tenant.allowed_origins = "\n".join(tenant.origin_patterns + missing)
            tenant.save(update_fields=["allowed_origins"])
        users = get_user_model().objects
        for number, username, name in DEMO_AGENTS:
            user, created = users.get_or_create(username=username, defaults={"first_name": name})
            if created:
                user.set_password(f"{username}-demo")
                user.save()
            Extension.objects.get_or_create(
                tenant=tenant, number=number, defaults={"display_name": name, "user": user}
            )
        existing = set(
            Extension.objects.filter(tenant=tenant, number__regex=r"^[0-9]+$").values_list("number", flat=True)
        )
        Extension.objects.bulk_create(
            Extension(tenant=tenant, number=str(n), display_name=f"Load {n}")
            for n in range(LOAD_TEST_FIRST_NUMBER, LOAD_TEST_FIRST_NUMBER + count)
            if str(n) not in existing
        )
        if not Theme.objects.filter(tenant=tenant, is_default=True).exists():
            Theme.objects.create(tenant=tenant, name="Demo blue", is_default=True)
        _key, raw = ApiKey.objects.create_key(tenant, name="seed_demo")
        self.stdout.write(f"API key: {raw}")
