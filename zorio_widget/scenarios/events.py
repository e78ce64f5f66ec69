"""What a scenario's calls tell it: `CallEvents` and the event each listener receives.

Seed 002's names (VoxEngine's `CallEvents`): Connected, Disconnected, Failed, Ringing,
ToneReceived, PlaybackFinished, RecordStarted, MessageReceived. A listener gets one `CallEvent`
(its `name`, the `call`, and the fields of that kind); it may be a plain function or a coroutine
function (then it runs as a task of the scenario, supervised like the scenario itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zorio_widget.scenarios.call import Call


class CallEvents(StrEnum):
    Connected = "Connected"
    "The call is answered (by the scenario, or by the party a scenario called)."
    Disconnected = "Disconnected"
    "A call that was connected (or an incoming one) is over: `reason` says why."
    Failed = "Failed"
    "An outgoing call ended before it was answered: `reason` (busy, no-answer, failed...) and `code`."
    Ringing = "Ringing"
    "The party a scenario called is alerting."
    ToneReceived = "ToneReceived"
    "A DTMF digit from the party (`tone`), RFC 4733 or in-band, after `handle_tones(True)`."
    PlaybackFinished = "PlaybackFinished"
    "A playback or `say()` ended: `name`, `error` (a code, or None), `stopped`, `played_s`."
    RecordStarted = "RecordStarted"
    "`record()` started: `url` is where the file will be served once the call is over."
    MessageReceived = "MessageReceived"
    "A text from the party (`call.message`): `text`."


@dataclass(frozen=True)
class CallEvent:
    """One event of one call; `data` holds the fields of its kind (also readable as attributes)."""

    name: CallEvents
    call: Call
    data: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, item: str) -> Any:
        try:
            return self.data[item]
        except KeyError:
            raise AttributeError(f"{self.name} has no field {item!r}") from None
