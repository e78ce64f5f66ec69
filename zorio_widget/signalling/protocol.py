"""Moved to the protocol floor: `zorio_widget.protocol.messages` and `zorio_widget.protocol.errors`.

Only the README's and the SDK's generators (docs.py, tsgen.py) and their tests still import these
names from here, until their import lines move too; nothing is defined here.
"""

from zorio_widget.protocol.errors import PROTOCOL_ERRORS as PROTOCOL_ERRORS
from zorio_widget.protocol.errors import SDK_ERRORS as SDK_ERRORS
from zorio_widget.protocol.errors import ErrorCode as ErrorCode
from zorio_widget.protocol.messages import CLIENT_MESSAGES as CLIENT_MESSAGES
from zorio_widget.protocol.messages import END_REASONS as END_REASONS
from zorio_widget.protocol.messages import SERVER_MESSAGES as SERVER_MESSAGES
from zorio_widget.protocol.messages import Field as Field
from zorio_widget.protocol.messages import Message as Message
