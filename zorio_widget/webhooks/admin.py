"""Admin: each tenant's webhook endpoint, and the events with their delivery log and "Retry now"."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from zorio_widget.webhooks import crypto, outbox, signing
from zorio_widget.webhooks.models import EventStatus, WebhookAttempt, WebhookEndpoint, WebhookEvent


class WebhookEndpointForm(forms.ModelForm):
    new_secret = forms.CharField(
        required=False, strip=True, min_length=16, max_length=200, label="New signing secret",
        help_text="Leave empty to keep the current secret (a new endpoint gets a generated one).")

    class Meta:
        model = WebhookEndpoint
        fields = ["tenant", "url", "enabled"]

    def save(self, commit: bool = True) -> WebhookEndpoint:
        endpoint: WebhookEndpoint = super().save(commit=False)
        if self.cleaned_data.get("new_secret"):
            endpoint.secret = self.cleaned_data["new_secret"]
        elif not endpoint.secret_encrypted:
            endpoint.secret = signing.new_secret()
        if commit:
            endpoint.save()
        return endpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["tenant", "url", "enabled", "updated_at"]
    list_filter = ["enabled"]
    readonly_fields = ["signing_secret"]

    @admin.display(description="Signing secret")
    def signing_secret(self, endpoint: WebhookEndpoint) -> str:
        """Shown to admins so the receiver can be configured; stored encrypted."""
        if not endpoint.secret_encrypted:
            return "(generated when saved)"
        try:
            return endpoint.secret
        except crypto.SecretUnreadable as exc:
            return f"unreadable: {exc}"


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "status_code", "error", "duration_ms", "url", "node")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "tenant", "event_type", "status", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["status", "event_type", "tenant"]
    search_fields = ["event_id"]
    readonly_fields = ["event_id", "tenant", "event_type", "payload", "created_at", "status", "attempts",
                       "next_attempt_at", "delivered_at", "last_error"]
    actions = ["retry_now"]

    def get_readonly_fields(self, request: HttpRequest, obj: WebhookEvent | None = None) -> list[str]:
        """Adding one queues a test event (to check a receiver); a queued event is never edited."""
        if obj is None:
            return [name for name in self.readonly_fields if name not in ("tenant", "event_type", "payload")]
        return list(self.readonly_fields)

    def get_inlines(self, request: HttpRequest, obj: WebhookEvent | None) -> list[type[InlineModelAdmin[Any, Any]]]:
        return [WebhookAttemptInline] if obj is not None else []  # a new event has no attempts yet

    def save_model(self, request: HttpRequest, obj: WebhookEvent, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            outbox.wake_workers()

    @admin.action(description="Retry now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        """Pending or failed events become due at once (one more attempt for a failed one)."""
        count = queryset.exclude(status=EventStatus.DELIVERED).update(
            status=EventStatus.PENDING, next_attempt_at=timezone.now())
        outbox.wake_workers()
        self.message_user(request, f"{count} event(s) will be sent again now.", messages.SUCCESS)
