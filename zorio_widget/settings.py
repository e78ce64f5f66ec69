"""Settings for Zorio Webphone, 12-factor through django-environ.

Every variable is documented in `.env.example`. The embedded defaults give a working demo on a
bare machine (SQLite, in-memory channel layer); production sets `DATABASE_URL`, `REDIS_URL`,
`SECRET_KEY` and `ALLOWED_HOSTS`. `manage.py check --deploy` refuses the embedded secret.
"""

import socket
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():  # else django-environ logs a line that is not JSON (LOG_FORMAT=json)
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

#: Used only when SECRET_KEY is unset; the deploy check `zorio_widget.E001` rejects it.
INSECURE_DEFAULT_SECRET_KEY = "zorio-insecure-development-key-do-not-use-in-production"

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEFAULT_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
#: Behind a TLS-terminating proxy (Caddy in docker-compose.yml): trust its X-Forwarded-Proto and
#: X-Forwarded-Host, redirect plain HTTP to HTTPS (not the probes and /metrics, which orchestrators
#: and Prometheus fetch from the process itself), send cookies over HTTPS only, and HSTS.
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
SECURE_SSL_REDIRECT = SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = BEHIND_TLS_PROXY
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if BEHIND_TLS_PROXY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "channels",
    "zorio_widget.tenants",
    "zorio_widget.calls",
    "zorio_widget.trunks",
    "zorio_widget.web",
    "zorio_widget.webhooks",
    "zorio_widget.routes",
    "zorio_widget.scenarios",
    "zorio_widget.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "zorio_widget.api.middleware.JsonErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "zorio_widget.urls"
ASGI_APPLICATION = "zorio_widget.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db_url_config(env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Call records are written from the event loop while other requests read: wait, don't fail.
    # Write-ahead logging: readers never wait for the writer, and a commit appends to the log
    # instead of creating, syncing and deleting a journal (bench/RESULTS.md 2026-12-02: a call's
    # record writes run on the one database thread every set-up waits on).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20, init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")
else:
    # Seconds a database connection is kept: the server (zorio_widget/serve.py) keeps its own 300 s,
    # since opening a PostgreSQL connection for each record write cost a call's set-up ~100 ms
    # (bench/RESULTS.md); other processes (manage.py, tests) close theirs after each request.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
#: redis-py 8 reads with a 5 s socket timeout by default, which aborts channels_redis' blocking
#: 5 s BZPOPMIN and tears down every idle consumer (channels_redis issue #422): wait longer.
REDIS_SOCKET_TIMEOUT_S = env.float("REDIS_SOCKET_TIMEOUT_S", default=30.0)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": REDIS_SOCKET_TIMEOUT_S}],
                "prefix": env.str("CHANNEL_PREFIX", default="zorio"),
                # channels_redis queues all of a process's channels (its sockets, its cluster inbox)
                # under one key with this capacity: a burst of calls placed from other processes
                # must not find it full (docs/CLUSTER.md).
                "capacity": env.int("CHANNEL_CAPACITY", default=1000),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default="") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed names once `collectstatic` has run (make run, docker); before that (a
    # fresh clone started some other way) plain names from static/, so pages still render.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if (STATIC_ROOT / "staticfiles.json").exists()
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# A fresh clone serves static/ before any collectstatic; after it, hashed names are used.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
WHITENOISE_MANIFEST_STRICT = False
MEDIA_ROOT = Path(env.str("RECORDINGS_ROOT", default="") or BASE_DIR / "recordings")
MEDIA_URL = "/recordings/"

# CORS: only a tenant's allowed origins get CORS headers (zorio_widget.tenants.cors).
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = ["authorization", "content-type"]
CORS_ALLOW_METHODS = ["GET", "POST", "OPTIONS"]

# --- Webphone ---------------------------------------------------------------------------------
TOKEN_DEFAULT_TTL_S = env.int("TOKEN_DEFAULT_TTL_S", default=3600)
TOKEN_MAX_TTL_S = env.int("TOKEN_MAX_TTL_S", default=86400)
#: How long a refresh token (`POST /api/webphone/tokens/refresh`) may wait to be used; each rotation
#: starts a new one, so an agent signed in within this time keeps the session and one away longer signs
#: in again. A week by default; shorter where a stolen refresh token must die sooner.
REFRESH_TOKEN_TTL_S = env.int("REFRESH_TOKEN_TTL_S", default=7 * 24 * 3600)
if REFRESH_TOKEN_TTL_S < 60:
    raise ValueError(f"REFRESH_TOKEN_TTL_S must be at least 60 seconds, not {REFRESH_TOKEN_TTL_S}")
#: Override for the signalling URL given to clients (e.g. wss://phone.example.com/ws/webphone/).
PUBLIC_WS_URL = env.str("PUBLIC_WS_URL", default="")
STUN_URLS = env.list("STUN_URLS", default=[])
TURN_URLS = env.list("TURN_URLS", default=[])
TURN_SECRET = env.str("TURN_SECRET", default="")
TURN_CREDENTIAL_TTL_S = env.int("TURN_CREDENTIAL_TTL_S", default=86400)
DEFAULT_LOCALE = env.str("DEFAULT_LOCALE", default="en")
#: The demo pages (/demo/, /demo/iframe/) and their token endpoint; turn off in production.
DEMO_PAGES = env.bool("DEMO_PAGES", default=True)

#: Address announced in the bridge's ICE candidates when the server sits behind NAT.
MEDIA_PUBLIC_IP = env.str("MEDIA_PUBLIC_IP", default="")
#: Per-process cap on concurrent calls (docs/DESIGN.md §4b): past it `call.create` gets `capacity`.
#: bench.calls measured 0.35-0.46% of a core per relayed call here with the native relay (0.73% at
#: 20 calls; bench/RESULTS.md), so 120 calls take about half a core and leave headroom for setup
#: bursts. Without the native module (not built) a call costs ~1.5%: lower it to ~50 then.
MAX_CALLS_PER_PROCESS = env.int("MAX_CALLS_PER_PROCESS", default=120)
#: Live calls one tenant / one extension may have at once, across every process of a cluster
#: (admin per tenant overrides), so one tenant cannot take every slot of MAX_CALLS_PER_PROCESS.
MAX_CALLS_PER_TENANT = env.int("MAX_CALLS_PER_TENANT", default=60)
MAX_CALLS_PER_EXTENSION = env.int("MAX_CALLS_PER_EXTENSION", default=4)
#: Seconds a leg may take to connect its media (ICE + DTLS) before its call ends `failed`.
MEDIA_CONNECT_TIMEOUT_S = env.float("MEDIA_CONNECT_TIMEOUT_S", default=15.0)
#: This server's name for call-record ownership: a process restarted under the same name closes
#: the records its predecessor left open. Give each process on one machine its own name.
NODE_NAME = env.str("NODE_NAME", default="") or socket.gethostname()
#: Seconds between the owner's "still alive" stamps on its live call records.
RECORD_HEARTBEAT_S = env.float("RECORD_HEARTBEAT_S", default=30.0)
#: After SIGTERM, seconds live calls may go on before the process ends them and exits (new calls
#: get `draining` at once). An orchestrator's stop grace period must be longer.
DRAIN_TIMEOUT_S = env.float("DRAIN_TIMEOUT_S", default=60.0)
RING_TIMEOUT_S = env.float("RING_TIMEOUT_S", default=45.0)
REATTACH_GRACE_S = env.float("REATTACH_GRACE_S", default=30.0)
WS_MAX_FRAME_BYTES = env.int("WS_MAX_FRAME_BYTES", default=65536)
WS_RATE_PER_S = env.float("WS_RATE_PER_S", default=20.0)
WS_RATE_BURST = env.int("WS_RATE_BURST", default=60)
#: Seconds between checks that open sockets' tokens are unexpired and their extensions enabled.
WS_ACCESS_CHECK_S = env.float("WS_ACCESS_CHECK_S", default=5.0)

# --- Scenario media: text-to-speech, playback (zorio_widget/media/speech, .../playback) ----------
#: `espeak-ng` (Debian's espeak-ng, the default), `piper` (needs the two PIPER settings below), or
#: the dotted path `pkg.module:factory` of a callable returning a SpeechEngine.
TTS_ENGINE = env.str("TTS_ENGINE", default="espeak-ng")
#: espeak-ng's executable (looked up on PATH).
TTS_ESPEAK_BINARY = env.str("TTS_ESPEAK_BINARY", default="espeak-ng")
#: Piper's executable and its voices, `language=/path/voice.onnx` (each with its .onnx.json beside it).
TTS_PIPER_BINARY = env.str("TTS_PIPER_BINARY", default="")
TTS_PIPER_VOICES = env.list("TTS_PIPER_VOICES", default=[])
#: Synthesised prompts are kept here (Opus packets, keyed by engine, voice and text); empty: memory only.
TTS_CACHE_DIR = env.str("TTS_CACHE_DIR", default=str(BASE_DIR / "cache" / "tts"))
#: Folder of the static paths scenarios may play (default the project's static/).
PLAYBACK_ROOT = Path(env.str("PLAYBACK_ROOT", default="") or BASE_DIR / "static")
#: Hosts (`host` or `host:port`) whose http(s) URLs scenarios may play; empty: every URL is refused.
PLAYBACK_ALLOWED_HOSTS = env.list("PLAYBACK_ALLOWED_HOSTS", default=[])

# --- Scenarios and recordings (zorio_widget/scenarios, zorio_widget/calls/recording.py) -------------
#: Originators of the target kinds served above the call layer, by route kind (the switchboard adds
#: them to its own): a scenario route runs its scenario. A wiring table, like ROOT_URLCONF.
CALL_ORIGINATORS = {"scenario": "zorio_widget.scenarios.originate.originate"}
#: Numbers no extension, route or service answers go out through a SIP trunk that takes them
#: (zorio_widget/trunks/runtime.py: while the trunk service runs; else they end `failed`).
CALL_ORIGINATORS["unknown"] = "zorio_widget.trunks.runtime.dial_out"
#: Days a recording is kept; `manage.py prune_recordings` removes older ones (0: keep them all).
RECORDINGS_RETENTION_DAYS = env.int("RECORDINGS_RETENTION_DAYS", default=0)
#: Seconds a queue caller waits for an agent before the queue's `max_wait` target takes the call.
QUEUE_MAX_WAIT_S = env.float("QUEUE_MAX_WAIT_S", default=600.0)

# --- Webhooks (zorio_widget/webhooks) -------------------------------------------------------------
#: Seconds one delivery attempt (connect, send, the receiver's answer) may take.
WEBHOOK_TIMEOUT_S = env.float("WEBHOOK_TIMEOUT_S", default=10.0)
#: Seconds before each retry of an undelivered event; after the last one the event is `failed`.
WEBHOOK_RETRY_DELAYS_S = env.list("WEBHOOK_RETRY_DELAYS_S", cast=float, default=[10.0, 30.0, 120.0, 600.0, 3600.0])

# --- SIP trunks (docs/DESIGN.md §7b, zorio_widget/sip/) ---------------------------------------------
#: Where the SIP user agent listens, UDP and TCP: `host:port`, or `off` (no SIP at all).
SIP_BIND = env.str("SIP_BIND", default="0.0.0.0:5060")
#: Address announced in Via, Contact and SDP (behind NAT); empty: the host of SIP_BIND, or the
#: machine's address towards each trunk when bound to 0.0.0.0.
SIP_PUBLIC_ADDRESS = env.str("SIP_PUBLIC_ADDRESS", default="")
#: UDP ports of trunk calls' RTP (one even port per call).
RTP_PORT_MIN = env.int("RTP_PORT_MIN", default=20000)
RTP_PORT_MAX = env.int("RTP_PORT_MAX", default=29999)
#: Fernet keys encrypting trunk passwords (comma-separated; the first encrypts, all decrypt). Empty:
#: a key derived from SECRET_KEY (zorio_widget/trunks/crypto.py).
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")

# --- Cache and throttling ----------------------------------------------------------------------
#: Django's cache holds the counters of zorio_widget/api/throttle.py: in Redis when REDIS_URL is set,
#: so every server process counts the same failures; in process memory otherwise.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": env.str("CHANNEL_PREFIX", default="zorio")}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "zorio"}}
#: Failed `Authorization: Api-Key` attempts per minute, per key prefix (from every client) and per
#: client address (any key); past either, attempts get 429 `rate_limited` until the minute ends. 0: no limit.
API_KEY_FAILURES_PER_MINUTE = env.int("API_KEY_FAILURES_PER_MINUTE", default=30)
API_KEY_FAILURES_PER_IP_PER_MINUTE = env.int("API_KEY_FAILURES_PER_IP_PER_MINUTE", default=20)

# --- Logs, health, metrics (zorio_widget/ops) ----------------------------------------------------
#: `text` (readable, the default) or `json` (one object per line: timestamp, level, logger, message,
#: process = NODE_NAME, call_uuid and tenant on call lines) for production log shippers.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOG_FORMATTERS = {"text": "zorio_widget.ops.jsonlog.TextFormatter", "json": "zorio_widget.ops.jsonlog.JsonFormatter"}
if LOG_FORMAT not in LOG_FORMATTERS:
    raise ValueError(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
#: When set, `GET /metrics` needs `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

#: Every record goes through RedactTokens (tokens, API keys, Authorization credentials) on every
#: handler, Daphne's access log included: zorio_widget/serve.py sends it to `zorio_widget.access`.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_tokens": {"()": "zorio_widget.logging_filters.RedactTokens"},
        "call_context": {"()": "zorio_widget.ops.logcontext.CallContextFilter"},
    },
    "formatters": {LOG_FORMAT: {"()": LOG_FORMATTERS[LOG_FORMAT]}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_tokens", "call_context"],
                             "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "aioice": {"level": "WARNING"},
        "aiortc": {"level": "WARNING"},
        "zorio_widget.access": {"level": "INFO", "filters": ["redact_tokens"]},
    },
}
