"""One INVITE session on a trunk (``SipCall``), one module per role: ``core`` (identity, state,
end, requests in the dialog), ``outbound`` (we sent the INVITE), ``inbound`` (we received it),
``indialog`` (hold, and the far end's requests in a confirmed call), ``sipcall`` (the roles
combined, and ``hangup``)."""

from .core import CALL_STATES, END_REASONS, end_reason
from .sipcall import SipCall

__all__ = ["CALL_STATES", "END_REASONS", "SipCall", "end_reason"]
