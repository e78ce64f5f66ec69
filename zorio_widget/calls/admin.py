from django.contrib import admin

from zorio_widget.calls.models import CallRecord


@admin.register(CallRecord)
class CallRecordAdmin(admin.ModelAdmin):
    list_display = ("started_at", "from_number", "to_number", "direction", "end_reason", "duration", "tenant")
    list_filter = ("tenant", "direction", "end_reason", "recording", "started_at")
    search_fields = ("uuid", "from_number", "to_number", "from_name", "to_name", "campaign_id", "lead_id",
                     "customer_id", "caller_name")
    date_hierarchy = "started_at"
    readonly_fields = ("uuid",)
    list_select_related = ("tenant",)
