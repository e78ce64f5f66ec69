from channels.generic.websocket import AsyncWebsocketConsumer


class WebphoneConsumer(AsyncWebsocketConsumer):
    pass
