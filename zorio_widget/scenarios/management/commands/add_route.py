"""`manage.py add_route TENANT NUMBER SCENARIO [--params JSON] [--name NAME] [--disabled]`: provisioning
(docs/DESIGN.md §6b).

Creates the route, or brings an existing one (same tenant and number) to what the command line
says, so a script can run it again and again. SCENARIO is a built-in (`ivr`, `voicemail`,
`announcement`, `queue`) or `package.module:function`; the params are checked by the scenario
before anything is saved (a dotted path must import and be an async function). The next call to
NUMBER runs it: no restart.
"""

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from zorio_widget.routes.models import Route, validate_route_number, validate_scenario_name
from zorio_widget.scenarios.registry import BUILT_INS, ScenarioConfigError, check_params, import_scenario
from zorio_widget.tenants.models import Extension, Tenant


class Command(BaseCommand):
    help = "Create or update a scenario route: NUMBER of TENANT runs SCENARIO with --params."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="the tenant's slug")
        parser.add_argument("number", help="the number callers dial")
        parser.add_argument("scenario", help="ivr, voicemail, announcement, queue, or package.module:function")
        parser.add_argument("--params", default=None, help="the scenario's params, a JSON object")
        parser.add_argument("--name", default=None, help="who callers see answering")
        parser.add_argument("--disabled", action="store_true", help="keep the route but answer nothing on it")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        number, scenario = options["number"], options["scenario"]
        try:
            validate_route_number(number)
            validate_scenario_name(scenario)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if Extension.objects.filter(tenant=tenant, number=number).exists():
            raise CommandError(f"{number} is an extension of {tenant.slug}: an extension takes its calls, not a route")
        try:
            params = json.loads(options["params"]) if options["params"] is not None else None
        except ValueError as exc:
            raise CommandError(f"--params is not JSON: {exc}") from exc
        existing = Route.objects.filter(tenant=tenant, number=number).first()
        if params is None:
            params = existing.params if existing is not None and existing.scenario == scenario else {}
        try:
            if scenario not in BUILT_INS:
                import_scenario(scenario)
            check_params(scenario, params)
        except ScenarioConfigError as exc:
            raise CommandError(f"{scenario}: {exc}") from exc
        defaults: dict[str, Any] = {"scenario": scenario, "params": params, "enabled": not options["disabled"]}
        if options["name"] is not None:
            defaults["name"] = options["name"]
        route, created = Route.objects.update_or_create(tenant=tenant, number=number, defaults=defaults)
        self.stdout.write(f"{'Created' if created else 'Updated'} route {route.number} -> {route.scenario} "
                          f"({tenant.slug})")
