"""The call state table: what it allows, what it refuses, and its shape."""

import itertools

import pytest

from zorio_widget.calls.states import TRANSITIONS, CallEvent, CallState, InvalidTransition, is_live, next_state

S, E = CallState, CallEvent

ALLOWED = [
    (S.ORIGINATING, E.RING, S.RINGING),
    (S.ORIGINATING, E.ANSWER, S.ANSWERED),  # a service number, or a joined attended transfer
    (S.ORIGINATING, E.END, S.CLOSED),
    (S.RINGING, E.ANSWER, S.ANSWERED),
    (S.RINGING, E.END, S.CLOSED),
    (S.ANSWERED, E.TRANSFER, S.RINGING),
    (S.ANSWERED, E.END, S.WRAP_UP),
    (S.WRAP_UP, E.CLOSE, S.CLOSED),
]


@pytest.mark.parametrize(("state", "event", "target"), ALLOWED)
def test_allowed_transitions(state: CallState, event: CallEvent, target: CallState) -> None:
    assert next_state(state, event) is target


def test_the_table_is_exactly_these_transitions() -> None:
    assert TRANSITIONS == {(state, event): target for state, event, target in ALLOWED}


@pytest.mark.parametrize(
    ("state", "event"),
    [(s, e) for s, e in itertools.product(CallState, CallEvent) if (s, e) not in TRANSITIONS],
)
def test_every_other_event_is_refused_and_named(state: CallState, event: CallEvent) -> None:
    with pytest.raises(InvalidTransition) as refused:
        next_state(state, event)
    assert refused.value.state is state and refused.value.event is event
    assert str(event) in str(refused.value) and str(state) in str(refused.value)


def test_closed_is_final_and_every_state_is_reachable() -> None:
    assert not any(state is S.CLOSED for state, _event in TRANSITIONS)
    reached, frontier = {S.ORIGINATING}, [S.ORIGINATING]
    while frontier:
        state = frontier.pop()
        for (source, _event), target in TRANSITIONS.items():
            if source is state and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(CallState)


def test_a_call_is_live_until_it_ends() -> None:
    assert [state for state in CallState if is_live(state)] == [S.ORIGINATING, S.RINGING, S.ANSWERED]
    # Ending a live call always leaves it not live; nothing brings a call back to life.
    for state in CallState:
        if is_live(state):
            assert not is_live(next_state(state, E.END))
    for (source, _event), target in TRANSITIONS.items():
        if not is_live(source):
            assert not is_live(target)
