"""`Route`: a number of a tenant answered by a scenario (a built-in by name, or `pkg.module:run`)."""

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from zorio_widget.tenants.models import Tenant

BUILT_IN_SCENARIOS = ("announcement", "ivr", "queue", "voicemail")
"""The scenarios every server has (zorio_widget/scenarios/builtins/); any other name is a dotted
path to an `async def run(call, params)` of the admin's own code."""
DOTTED_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")
ROUTE_NUMBER = re.compile(r"\+?[0-9*#]{1,32}")
MAX_PARAMS_CHARS = 16384


def validate_scenario_name(value: str) -> None:
    if value not in BUILT_IN_SCENARIOS and not DOTTED_PATH.fullmatch(value):
        raise ValidationError(
            f"{value!r} is neither a built-in scenario ({', '.join(BUILT_IN_SCENARIOS)}) nor a dotted path "
            "such as 'mypackage.scenarios:run'.")


def validate_route_number(value: str) -> None:
    if not ROUTE_NUMBER.fullmatch(value):
        raise ValidationError(f"{value!r} is not a dialable number (digits, * and #, an optional leading +).")


def validate_params(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Params must be a JSON object.")
    import json

    if len(json.dumps(value)) > MAX_PARAMS_CHARS:
        raise ValidationError(f"Params are longer than {MAX_PARAMS_CHARS} characters of JSON.")


class Route(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="routes")
    number = models.CharField(max_length=32, validators=[validate_route_number],
                              help_text="What callers dial (an extension's number wins over a route's).")
    name = models.CharField(max_length=120, blank=True, help_text="Shown to callers as who answered.")
    scenario = models.CharField(max_length=200, validators=[validate_scenario_name],
                                help_text="A built-in scenario (ivr, voicemail, announcement, queue) or "
                                          "'package.module:function'.")
    params = models.JSONField(default=dict, blank=True, validators=[validate_params],
                              help_text="The scenario's parameters (see the README's scenarios section).")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "number"], name="route_unique_number")]
        ordering = ["tenant", "number"]

    def __str__(self) -> str:
        return f"{self.number} → {self.scenario}"
