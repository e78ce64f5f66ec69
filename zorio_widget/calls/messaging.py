"""`call.message`: a text from one party of a connected call to the other (a scenario's `Call` gets it
as `MessageReceived`; a scenario's `send_message` reaches a browser the same way)."""

from zorio_widget.calls.session import CallSession, Leg
from zorio_widget.calls.states import CallState
from zorio_widget.protocol.messages import Frame, ProtocolError


async def message_request(session: CallSession, leg: Leg, frame: Frame) -> None:
    """Relays the text to the other party (`switchboard.REQUESTS`); `invalid_state` unless connected."""
    peer = session.peer_of(leg)
    if session.state != CallState.ANSWERED or peer is None:
        raise ProtocolError("invalid_state", "A message needs a connected call.", req_id=frame.req_id,
                            call_id=leg.call_id)
    await peer.send("call.message", text=frame.data["text"])
