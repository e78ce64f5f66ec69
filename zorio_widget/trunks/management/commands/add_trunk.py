"""`manage.py add_trunk TENANT NAME --uri 'sip:USER:PASSWORD@HOST:PORT;transport=udp|tcp' [--register]
[--outbound-prefix P]... [--did NUMBER=TARGET]... [--caller-id NUMBER]`: provisioning (docs/DESIGN.md §3).

Creates the trunk, or brings an existing one (same tenant and name) to what the command line says,
so a script can run it again and again: the URI sets host, port, transport and credentials (an URI
without a password keeps the stored one); `--register` is on only when given; `--outbound-prefix`es
and `--did`s, when given, replace the trunk's; `--caller-id` sets the default caller id. The output
never shows the password.
"""

import re
from argparse import ArgumentTypeError
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from sipmessage import URI

from zorio_widget.tenants.models import Tenant
from zorio_widget.trunks.models import NUMBER, TARGET, Did, Trunk

_PREFIX = re.compile(r"\+?[0-9]{1,16}")


def sip_uri(value: str) -> URI:
    try:
        uri = URI.parse(value.strip())
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a SIP URI like sip:USER:PASSWORD@HOST:PORT;transport=udp") from None
    if uri.scheme != "sip":
        raise ArgumentTypeError("the trunk URI must be sip: (TLS is not supported)")
    transport = (uri.parameters.get("transport") or "udp").lower()
    if transport not in ("udp", "tcp"):
        raise ArgumentTypeError(f"transport={transport}: only udp and tcp are supported")
    unknown = set(uri.parameters) - {"transport"}
    if unknown:
        raise ArgumentTypeError(f"unsupported URI parameters: {', '.join(sorted(unknown))}")
    return uri


def did(value: str) -> tuple[str, str]:
    number, equals, target = value.partition("=")
    try:
        NUMBER(number)
        TARGET(target)
    except ValidationError:
        raise ArgumentTypeError(f"{value!r}: a DID is NUMBER=TARGET, e.g. +842838001234=1001") from None
    if not equals:
        raise ArgumentTypeError(f"{value!r}: a DID is NUMBER=TARGET")
    return number, target


def prefix(value: str) -> str:
    if not _PREFIX.fullmatch(value):
        raise ArgumentTypeError(f"{value!r}: a prefix is digits, optionally after a +")
    return value


def number(value: str) -> str:
    try:
        NUMBER(value)
    except ValidationError:
        raise ArgumentTypeError(f"{value!r} is not a phone number") from None
    return value


class Command(BaseCommand):
    help = "Creates or updates a tenant's SIP trunk (idempotent; the password is stored encrypted)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="The tenant's slug.")
        parser.add_argument("name", help="The trunk's name, unique in the tenant.")
        parser.add_argument("--uri", required=True, type=sip_uri,
                            help="sip:USER:PASSWORD@HOST:PORT;transport=udp|tcp (USER:PASSWORD@ optional).")
        parser.add_argument("--register", action="store_true", help="Keep a REGISTER binding with the carrier.")
        parser.add_argument("--outbound-prefix", dest="prefixes", action="append", type=prefix, metavar="P",
                            help="Numbers starting with P go out on this trunk; repeat for more (replaces).")
        parser.add_argument("--did", dest="dids", action="append", type=did, metavar="NUMBER=TARGET",
                            help="An inbound number and the extension/route it rings; repeat (replaces).")
        parser.add_argument("--caller-id", type=number, metavar="NUMBER", help="The default caller id.")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r} (create it with add_tenant)")
        name = options["name"].strip()
        if not name or len(name) > 60:
            raise CommandError("NAME must be 1 to 60 characters.")
        uri: URI = options["uri"]
        trunk, created = Trunk.objects.get_or_create(tenant=tenant, name=name, defaults={"host": uri.host})
        trunk.host = uri.host
        trunk.port = uri.port or 5060
        trunk.transport = (uri.parameters.get("transport") or "udp").lower()
        trunk.username = uri.user or ""
        if uri.password is not None:
            trunk.password = uri.password
        trunk.register = options["register"]
        if trunk.register and not trunk.username:
            raise CommandError("--register needs a user name in the URI (sip:USER:PASSWORD@HOST).")
        if options["prefixes"] is not None:
            trunk.outbound_prefixes = "\n".join(dict.fromkeys(options["prefixes"]))
        if options["caller_id"]:
            trunk.default_caller_id = options["caller_id"]
        trunk.save()
        if options["dids"] is not None:
            self._set_dids(trunk, dict(options["dids"]))
        port = f":{trunk.port}"
        self.stdout.write(
            f"Trunk {name} {'created' if created else 'updated'}: sip:{trunk.username + '@' if trunk.username else ''}"
            f"{trunk.host}{port};transport={trunk.transport}, register {'on' if trunk.register else 'off'}, "
            f"prefixes {', '.join(trunk.prefixes) or '(none)'}, DIDs {trunk.dids.count()}")

    def _set_dids(self, trunk: Trunk, dids: dict[str, str]) -> None:
        taken = Did.objects.filter(number__in=dids).exclude(trunk=trunk).select_related("trunk")
        for other in taken:
            raise CommandError(f"DID {other.number} already belongs to trunk {other.trunk.name}")
        trunk.dids.exclude(number__in=dids).delete()
        for number_, target in dids.items():
            Did.objects.update_or_create(trunk=trunk, number=number_, defaults={"target": target})
