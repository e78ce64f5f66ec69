from django.urls import path

from zorio_widget.api import cards, views

urlpatterns = [
    path("tokens", views.create_token, name="api-tokens"),
    path("tokens/refresh", views.refresh_token, name="api-tokens-refresh"),
    path("sip-config", views.sip_config, name="api-sip-config"),
    path("calls", views.call_history, name="api-calls"),
    path("calls/<uuid:call_uuid>/card", cards.save_card, name="api-call-card"),
]
