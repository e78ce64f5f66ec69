"""A Python client of the webphone: the signalling protocol over a real WebSocket plus an aiortc
peer. Used by the integration tests and the load benchmark, and usable for bots and monitors."""

from zorio_widget.client.audio import AudioProbe, ToneTrack
from zorio_widget.client.phone import ClientCall, PhoneClient

__all__ = ["AudioProbe", "ClientCall", "PhoneClient", "ToneTrack"]
