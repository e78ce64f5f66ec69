from django.contrib import admin, messages
from django.http import HttpRequest

from zorio_widget.tenants.models import ApiKey, Extension, Tenant, Theme


class ExtensionInline(admin.TabularInline):
    model = Extension
    extra = 0
    fields = ("number", "display_name", "user", "enabled", "call_waiting", "recording_default")


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "enabled", "max_live_calls", "created_at")
    fields = ("name", "slug", "allowed_origins", "enabled", "max_live_calls", "max_calls_per_extension", "card_schema")
    list_filter = ("enabled",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [ExtensionInline]


@admin.register(Extension)
class ExtensionAdmin(admin.ModelAdmin):
    list_display = ("number", "display_name", "tenant", "user", "enabled", "call_waiting", "recording_default")
    list_filter = ("tenant", "enabled", "call_waiting", "recording_default")
    search_fields = ("number", "display_name", "user__username")
    autocomplete_fields = ("user",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "tenant", "revoked", "created_at", "last_used_at")
    list_filter = ("tenant", "revoked")
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "last_used_at")
    fields = ("tenant", "name", "revoked", "prefix", "created_at", "last_used_at")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: object, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)  # type: ignore[arg-type]
            return
        key, raw = ApiKey.objects.create_key(obj.tenant, obj.name)
        obj.pk, obj.prefix, obj.hashed_key = key.pk, key.prefix, key.hashed_key
        messages.warning(request, f"API key (shown once, copy it now): {raw}")


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ("name", "tenant", "is_default", "mode", "default_layout", "default_locale")
    list_filter = ("tenant", "is_default", "mode", "default_locale")
    search_fields = ("name",)
