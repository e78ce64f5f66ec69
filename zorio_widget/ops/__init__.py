"""Operations: health and readiness probes, Prometheus metrics, structured logs, the process lifecycle.

- ``lifecycle``: the draining flag (``set_draining`` / ``is_draining``, read by ``/readyz``) and the
  background tasks a server process starts with (event-loop lag, webhook delivery).
- ``metrics``: the metric objects other layers feed (``observe_setup``, ``socket_opened``...) and
  the registry ``/metrics`` renders; ``collector`` reads the call layer's state at scrape time.
- ``readiness``: the database and channel layer checks of ``/readyz``.
- ``logcontext`` and ``jsonlog``: the call a log line is about, and one JSON object per line.
- ``views`` / ``urls``: ``/healthz``, ``/readyz``, ``/metrics`` (README "Production").

This package sits on the top floor with the other edges: it reads the calls and media floors, and
what those floors call here (``metrics``, ``logcontext``, ``lifecycle``) imports nothing of them.
"""
