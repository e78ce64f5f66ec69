"""`call_event`: a call record was written that starts, answers or ends a call.

A Django signal, sent with `uuid` (the record's) and `event` (`call.started`, `call.answered`,
`call.ended`) inside the transaction of the write (`records.py`, and `ownership.close_records` for
the calls of a process that died). The webhooks app (zorio_widget/webhooks/apps.py) queues the
tenant's webhook there, so the event exists exactly when the write does and the call layer never
imports the app that delivers it.
"""

from django.dispatch import Signal

call_event = Signal()
