from django.urls import path

from zorio_widget.signalling.consumer import WebphoneConsumer

websocket_urlpatterns = [path("ws/webphone/", WebphoneConsumer.as_asgi())]
