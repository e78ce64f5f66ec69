from django.contrib import admin
from django.forms import CharField, ModelForm, PasswordInput

from .models import Did, Trunk


class DidInline(admin.TabularInline):
    model = Did
    extra = 0


class TrunkForm(ModelForm):
    """The password is write-only: never rendered back, kept when left empty."""

    password = CharField(widget=PasswordInput(render_value=False), required=False,
                         help_text="Leave empty to keep the current password.")

    class Meta:
        model = Trunk
        fields = "__all__"

    def clean_password(self) -> str:
        new = self.cleaned_data.get("password", "")
        return new if new else (self.instance.password if self.instance.pk else "")


@admin.register(Trunk)
class TrunkAdmin(admin.ModelAdmin):
    form = TrunkForm
    list_display = ("name", "tenant", "host", "port", "transport", "enabled", "register", "registration_state",
                    "state_updated_at")
    list_filter = ("tenant", "enabled", "register", "registration_state", "transport")
    search_fields = ("name", "host", "username", "dids__number")
    readonly_fields = ("registration_state", "registration_detail", "state_updated_at", "created_at")
    fields = ("tenant", "name", "enabled", "host", "port", "transport", "username", "password", "register",
              "outbound_prefixes", "caller_ids", "default_caller_id", "max_channels", "registration_state",
              "registration_detail", "state_updated_at", "created_at")
    inlines = [DidInline]
