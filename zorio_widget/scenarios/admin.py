"""Routes in the admin: the scenario and its params are checked by the scenario before a save."""

from typing import Any

from django import forms
from django.contrib import admin

from zorio_widget.routes.models import Route
from zorio_widget.scenarios.registry import BUILT_INS, ScenarioConfigError, check_params, import_scenario


class RouteForm(forms.ModelForm):
    class Meta:
        model = Route
        fields = ("tenant", "number", "name", "scenario", "params", "enabled")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        scenario, params = data.get("scenario"), data.get("params")
        if scenario and params is not None:
            try:
                if scenario not in BUILT_INS:
                    import_scenario(scenario)
                check_params(scenario, params)
            except ScenarioConfigError as exc:
                self.add_error("params" if scenario in BUILT_INS else "scenario", str(exc))
        return data


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    form = RouteForm
    list_display = ("number", "name", "scenario", "enabled", "tenant", "updated_at")
    list_filter = ("tenant", "scenario", "enabled")
    search_fields = ("number", "name", "scenario")
