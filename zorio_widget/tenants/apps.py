from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "zorio_widget.tenants"
    verbose_name = "Tenants and extensions"

    def ready(self) -> None:
        from zorio_widget import checks  # noqa: F401  (registers system checks)
        from zorio_widget.tenants import cors  # noqa: F401  (connects the CORS signal)
