from django.urls import path

from zorio_widget.api import agents, calls, cards, directory, views

urlpatterns = [
    path("tokens", views.create_token, name="api-tokens"),
    path("tokens/refresh", views.refresh_token, name="api-tokens-refresh"),
    path("sip-config", views.sip_config, name="api-sip-config"),
    path("calls", calls.calls, name="api-calls"),
    path("calls/<uuid:call_uuid>/recording", calls.recording, name="api-call-recording"),
    path("agent/state", agents.own_state, name="api-agent-state"),
    path("agents/<str:number>/state", agents.state_of, name="api-agents-state"),
    path("directory", directory.directory, name="api-directory"),
    path("calls/<uuid:call_uuid>/card", cards.save_card, name="api-call-card"),
]
