from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "zorio_widget.web"
    verbose_name = "Web pages (demo, softphone)"
