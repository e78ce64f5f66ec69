from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "zorio_widget.calls"
    verbose_name = "Calls"
