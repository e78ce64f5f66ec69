from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from zorio_widget.calls.models import CallRecord
from zorio_widget.calls.recording import RangeNotSatisfiable, RecordingUnavailable, recording_response


@admin.register(CallRecord)
class CallRecordAdmin(admin.ModelAdmin):
    list_display = ("started_at", "kind", "from_number", "to_number", "direction", "end_reason", "duration",
                    "has_recording", "tenant")
    list_filter = ("tenant", "kind", "direction", "end_reason", "recording", "started_at")
    search_fields = ("uuid", "from_number", "to_number", "from_name", "to_name", "campaign_id", "lead_id",
                     "customer_id", "caller_name")
    date_hierarchy = "started_at"
    readonly_fields = ("uuid", "player")
    list_select_related = ("tenant",)

    @admin.display(boolean=True, description="recording")
    def has_recording(self, record: CallRecord) -> bool:
        return bool(record.recording_file)

    @admin.display(description="Listen")
    def player(self, record: CallRecord) -> str:
        """The recording (a voicemail's message), played from the admin's own URL (staff only)."""
        if not record.pk or not record.recording_file:
            return "No recording."
        url = reverse("admin:calls_callrecord_recording", args=[record.pk])
        return format_html('<audio controls preload="none" src="{}"></audio> <a href="{}">download</a>', url, url)

    def get_urls(self) -> list[URLPattern]:
        own = [path("<int:pk>/recording/", self.admin_site.admin_view(self.recording_view),
                    name="calls_callrecord_recording")]
        return own + super().get_urls()

    def recording_view(self, request: HttpRequest, pk: int, *args: Any) -> HttpResponseBase:
        record = get_object_or_404(CallRecord, pk=pk)
        if not self.has_view_permission(request, record):
            raise PermissionDenied
        try:
            return recording_response(record, request.headers.get("Range"))
        except RecordingUnavailable as exc:
            raise Http404(str(exc)) from exc
        except RangeNotSatisfiable as exc:
            return HttpResponse(status=416, headers={"Content-Range": f"bytes */{exc.size}"})
