# The web image: Django + Channels on Daphne, with the aiortc media bridge. See docker-compose.yml.

# The native relay (zorio_widget/media/native/_fastrelay.c, setup.py) is compiled in a throw-away stage,
# so the image carries the .so and no compiler.
FROM python:3.11-slim AS native
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY setup.py ./
COPY zorio_widget/media/native/_fastrelay.c zorio_widget/media/native/srtp_side.c zorio_widget/media/native/rtp_side.c \
     zorio_widget/media/native/relay.h ./zorio_widget/media/native/
RUN python setup.py --quiet build_ext --inplace

FROM python:3.11-slim

# PYTHONMALLOC: zorio_widget/calls/memory.py SERVER_ENVIRONMENT (memory comes back after call bursts)
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONMALLOC=malloc \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# aiortc, av and psycopg install from binary wheels (they carry their own codec and libpq builds).
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY manage.py ./
COPY zorio_widget ./zorio_widget
COPY --from=native /build/zorio_widget/media/native/_fastrelay.*.so ./zorio_widget/media/native/
COPY templates ./templates
COPY static ./static

RUN useradd --system --create-home zorio \
    && mkdir -p /app/recordings /app/staticfiles \
    && chown zorio:zorio /app/recordings /app/staticfiles
USER zorio

EXPOSE 8000
# GET /healthz on the default port (compose gives each process its own port and probe).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s CMD ["python", "-m", "zorio_widget.ops.probe", "--port", "8000"]
# Daphne serving zorio_widget.asgi:application, its access log through logging (token redaction).
CMD ["python", "-m", "zorio_widget.serve", "-b", "0.0.0.0", "-p", "8000"]
