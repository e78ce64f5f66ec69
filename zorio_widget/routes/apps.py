from django.apps import AppConfig


class RoutesConfig(AppConfig):
    name = "zorio_widget.routes"
    verbose_name = "Routes"
    default_auto_field = "django.db.models.BigAutoField"
