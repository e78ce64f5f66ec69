from django.urls import path

from zorio_widget.api import views

urlpatterns = [
    path("tokens", views.create_token, name="api-tokens"),
    path("sip-config", views.sip_config, name="api-sip-config"),
    path("calls", views.call_history, name="api-calls"),
]
