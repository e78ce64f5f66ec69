from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "zorio_widget.webhooks"
    verbose_name = "Webhooks"
