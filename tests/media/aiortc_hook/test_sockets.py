"""The socket path (``aiortc_hook.sockets``): how aioice and asyncio read the relay's UDP."""

from __future__ import annotations

import pytest

from zorio_widget.media import aiortc_hook

from ..conftest import MediaFactory

pytestmark = pytest.mark.timeout(15)


async def test_udp_reads_use_a_bounded_buffer(media: MediaFactory) -> None:
    _client, leg = await media.pair(500.0)
    connection = leg._pc.getReceivers()[0].transport.transport._connection
    transports = {pair.protocol.transport for pair in connection._nominated.values()}
    assert transports and {t.max_size for t in transports} == {aiortc_hook.UDP_RECV_BUFFER}
