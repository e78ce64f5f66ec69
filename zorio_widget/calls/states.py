"""The call state machine as one table (docs/DESIGN.md §4, §5).

`CallSession` alone changes a call's state, through `next_state`; anything not in the table is an
out-of-order event and is refused, never applied. The TypeScript SDK imports a generated copy.
"""

from enum import StrEnum


class CallState(StrEnum):
    ORIGINATING = "originating"
    RINGING = "ringing"
    ANSWERED = "answered"
    WRAP_UP = "wrap_up"
    CLOSED = "closed"


class CallEvent(StrEnum):
    RING = "ring"  # the far side is alerting (or, after a blind transfer, the new target is)
    ANSWER = "answer"
    END = "end"  # hang-up, rejection, timeout, failure: the reason is carried separately
    CLOSE = "close"  # the after-call (wrap-up) time is over
    TRANSFER = "transfer"  # the remote party was moved to a new target: ring again


TRANSITIONS: dict[tuple[CallState, CallEvent], CallState] = {
    (CallState.ORIGINATING, CallEvent.RING): CallState.RINGING,
    (CallState.ORIGINATING, CallEvent.ANSWER): CallState.ANSWERED,
    (CallState.ORIGINATING, CallEvent.END): CallState.CLOSED,
    (CallState.RINGING, CallEvent.ANSWER): CallState.ANSWERED,
    (CallState.RINGING, CallEvent.END): CallState.CLOSED,
    (CallState.ANSWERED, CallEvent.TRANSFER): CallState.RINGING,
    (CallState.ANSWERED, CallEvent.END): CallState.WRAP_UP,
    (CallState.WRAP_UP, CallEvent.CLOSE): CallState.CLOSED,
}


class InvalidTransition(Exception):
    def __init__(self, state: CallState, event: CallEvent) -> None:
        super().__init__(f"{event} is not allowed in state {state}")
        self.state = state
        self.event = event


def next_state(state: CallState, event: CallEvent) -> CallState:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransition(state, event) from None


def is_live(state: CallState) -> bool:
    """True while the call still has media and can be controlled."""
    return state in (CallState.ORIGINATING, CallState.RINGING, CallState.ANSWERED)
