from django.apps import AppConfig


class TrunksConfig(AppConfig):
    name = "zorio_widget.trunks"
    verbose_name = "SIP trunks"
