"""The wire contract, the lowest floor of the package: what clients and the server say to each other.

`errors` is the one catalogue of error codes (WebSocket, REST, SDK); `messages` holds the signalling
message tables. Nothing here imports from the rest of the project, so every floor above (calls,
signalling, the REST API) may import it. The SDK's TypeScript copy and the README's reference are
generated from these tables (zorio_widget/signalling/tsgen.py, zorio_widget/signalling/docs.py).
"""

from zorio_widget.protocol.errors import ERRORS, PROTOCOL_ERRORS, REST_ERRORS, SDK_ERRORS, ErrorCode, Surface

__all__ = ["ERRORS", "PROTOCOL_ERRORS", "REST_ERRORS", "SDK_ERRORS", "ErrorCode", "Surface"]
