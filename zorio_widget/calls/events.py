"""`call_event`: a call record was written that starts, answers or ends a call.

A Django signal, sent with `uuid` and `tenant_id` (the record's) and `event` (`call.started`,
`call.answered` with `setup_s`, the seconds from placing to the answer, `call.ended`,
`recording.ready`) inside the transaction of the write (`records.py`, and `ownership.close_records` for
the calls of a process that died). The webhooks app (zorio_widget/webhooks/apps.py) queues the
tenant's webhook there, so the event exists exactly when the write does and the call layer never
imports the app that delivers it. The receivers run in that transaction on the database thread
every call's set-up waits on, so the signal carries what they need rather than have them read it
back (a tenant without a webhook costs its receiver one query).
"""

from django.dispatch import Signal

call_event = Signal()
