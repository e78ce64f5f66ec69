"""ASGI entry point: HTTP goes to Django, WebSockets to the signalling consumer."""

import logging
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zorio_widget.settings")
# Django must be set up before the consumers (and their models) are imported.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from zorio_widget.calls.legs import MediaPort  # noqa: E402
from zorio_widget.calls.ownership import close_leftovers_blocking  # noqa: E402
from zorio_widget.cluster import runtime  # noqa: E402
from zorio_widget.media import MediaLeg, native  # noqa: E402
from zorio_widget.media.clips import preload_clips_blocking  # noqa: E402
from zorio_widget.ops import cluster_metrics, collector  # noqa: E402
from zorio_widget.scenarios.agents import AgentDirectory, use_directory  # noqa: E402
from zorio_widget.scenarios.agentstore import RedisAgents  # noqa: E402
from zorio_widget.signalling.routing import websocket_urlpatterns  # noqa: E402


def tracked_media(media_id: str) -> MediaPort:
    """A leg's aiortc media, counted by /metrics even if it lives and dies between two scrapes."""
    media = MediaLeg(media_id, public_address=settings.MEDIA_PUBLIC_IP)
    collector.track(media)
    return media


# The process's switchboard, and its place in the cluster when the channel layer is on Redis.
router = runtime.install(media_factory=tracked_media)
cluster_metrics.watch(router)
if router.cluster is not None:  # queue agents and lines are the cluster's, not this process's
    use_directory(AgentDirectory(RedisAgents.of_node(router.cluster.node)))

try:  # a process restarted after a crash closes the records its predecessor left open
    close_leftovers_blocking()
except Exception as exc:  # no database yet (a fresh clone before migrate), or tests without one
    logging.getLogger(__name__).warning("leftover call records were not checked: %s", exc)
preload_clips_blocking()  # ringback, music, DTMF tones: encoded once, before the first call
if not native.available():
    logging.getLogger(__name__).warning(
        "the native relay is not built (make native): every relayed packet takes the Python path, ~2x the CPU"
    )

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": URLRouter(websocket_urlpatterns)})
