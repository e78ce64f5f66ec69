from django.apps import AppConfig


class ScenariosConfig(AppConfig):
    name = "zorio_widget.scenarios"
    verbose_name = "Scenarios"
