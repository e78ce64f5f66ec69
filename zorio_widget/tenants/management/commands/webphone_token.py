"""`manage.py webphone_token EXTENSION [--ttl SECONDS] [--tenant SLUG] [--refresh]`: prints one token,
nothing else; with `--refresh` a second line with the refresh token that renews it."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from zorio_widget.tenants.models import Extension
from zorio_widget.tenants.refresh import refresh_tokens
from zorio_widget.tenants.tokens import token_generator


class Command(BaseCommand):
    help = "Prints a webphone token for an extension (of the demo tenant unless --tenant is given)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("extension")
        parser.add_argument("--ttl", type=int, default=settings.TOKEN_DEFAULT_TTL_S)
        parser.add_argument("--tenant", default="demo", help="Tenant slug (default: demo).")
        parser.add_argument("--refresh", action="store_true",
                            help="Also print a refresh token (POST /api/webphone/tokens/refresh) on a second line.")

    def handle(self, *args: Any, **options: Any) -> None:
        extension = Extension.objects.filter(tenant__slug=options["tenant"], number=options["extension"]).first()
        if extension is None:
            raise CommandError(f"No extension {options['extension']!r} in tenant {options['tenant']!r}.")
        try:
            if options["refresh"]:
                issued = refresh_tokens.issue(extension, options["ttl"])
                self.stdout.write(f"{issued.token}\n{issued.refresh_token}")
                return
            token, _claims = token_generator.make_token(extension, options["ttl"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(token)
