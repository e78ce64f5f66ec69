/*
 * zorio_widget.media.native._fastrelay: the relay's steady state in native code (bench/RESULTS.md).
 *
 * Why: one relayed Opus packet through the Python path (aiortc_hook.receive._FastReceive -> MediaLeg
 * -> Bridge -> OutboundAudio.push -> DirectSend.send) costs ~100 us of CPU on a loaded server, twice
 * the 0.7 %-of-a-core-per-call budget of issue #3. Once a pair of legs relays plainly (same SSRC,
 * Opus payload type, listener parked on the relay, nothing else playing), every packet does exactly
 * the same work; a `Route` does that work here, in one C call from the socket callback.
 *
 * The rule that keeps this safe: a `Route` never owns state. It reads and writes the very Python
 * objects the Python path uses, per packet, so the two paths are interchangeable packet by packet:
 * - the listener's side is ONE object, its outbound track's `Timeline` (media/timeline.py): what
 *   plays, what is queued, the RTP timeline and the counters a relayed packet moves. The fields are
 *   TIMELINE_FIELDS below (exported; a test checks them against Timeline.__slots__), read and
 *   written as attributes of a slots object;
 * - the sender's sequence counter is the `DirectSend`'s (aiortc_hook/send.py), also a slots object;
 * - aiortc's own state (receiver statistics, RTCP and DTLS counters) is read and written in the
 *   objects' __dict__s, under the names of ATTRIBUTES below (aiortc_hook/inventory.py lists them).
 * The receiving leg's `packet_tap` (the bridge's taps: recording, voice activity) is called with each
 * payload and its RTP timestamp, as the Python path does, so a tapped call stays on this path.
 * Before touching anything it checks, on the cleartext SRTP header and on those objects, that the
 * Python path would do exactly this (the guards below, OutboundAudio.push's conditions); if not,
 * the datagram goes to the Python path untouched (`Receive.fallback`). What aiortc and aioice
 * attributes it relies on is checked by aiortc_hook.verify_aiortc_internals().
 *
 * The SRTP sessions are pylibsrtp's: their libsrtp `srtp_t` and the `srtp_protect` /
 * `srtp_unprotect` entry points are handed over as addresses (pylibsrtp's cffi `ffi.addressof`).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define NTP_EPOCH_OFFSET_S 2208988800ULL
#define ACTIVE_SSRC_REFRESH_MS 500
#define MAX_PACKET 1500
#define SRTP_MAX_TRAILER_LEN (16 + 128)

typedef int (*srtp_fn)(void *ctx, void *hdr, int *len);

/* Interned attribute names (module state would be cleaner; the module is never re-initialised). */
static PyObject *k_rx_srtp, *k_tx_srtp, *k_state, *k_enabled, *k_on_packet, *k_inband, *k_packet_tap,
    *k_sequence_number, *k_packets_received, *k_rx_bytes, *k_rx_packets, *k_tx_bytes, *k_tx_packets,
    *k_ntp_timestamp, *k_rtp_timestamp, *k_octet_count, *k_packet_count, *k_base_seq, *k_max_seq,
    *k_cycles, *k_jitter_q4, *k_last_arrival, *k_last_timestamp, *k_fileno, *k_one, *k_zero_float;

/* The fields of media/timeline.py's Timeline a route reads and writes, exported as TIMELINE_FIELDS
 * (a test checks them against Timeline.__slots__). Guards: SOURCE (identity), WAITER (not None:
 * the sender loop is parked), QUEUED / OVERLAY / EVENTS (empty), IN_EVENT (False), LIVE (True),
 * DIRECT (identity). Timeline: HIGH_PTS, LAST_KEY, LAST_SRC_TS, LAST_PTS read; HIGH_PTS, LAST_PTS,
 * LAST_SRC_TS, LAST_SENT_AT, GEN_DEADLINE written. Counters: PACKETS_SENT, FORWARDED. */
#define TIMELINE_FIELDS(X)                                                                        \
    X(SOURCE, "source") X(WAITER, "waiter") X(QUEUED, "queued") X(OVERLAY, "overlay")             \
    X(EVENTS, "events") X(IN_EVENT, "in_event") X(LIVE, "live") X(DIRECT, "direct")               \
    X(HIGH_PTS, "high_pts") X(LAST_KEY, "last_key") X(LAST_SRC_TS, "last_src_ts")                 \
    X(LAST_PTS, "last_pts") X(LAST_SENT_AT, "last_sent_at") X(GEN_DEADLINE, "gen_deadline")       \
    X(PACKETS_SENT, "packets_sent") X(FORWARDED, "forwarded")
#define FIELD_ID(id, text) F_##id,
#define FIELD_TEXT(id, text) text,
enum timeline_field { TIMELINE_FIELDS(FIELD_ID) TIMELINE_FIELD_COUNT };
static const char *const timeline_field_names[] = {TIMELINE_FIELDS(FIELD_TEXT)};
#undef FIELD_ID
#undef FIELD_TEXT

/* (variable name, attribute name) of the __dict__ entries and other attributes a route uses:
 * exported as ATTRIBUTE_NAMES so Python can check them. */
#define ATTRIBUTES(X)                                                     \
    X(k_rx_srtp, "_rx_srtp")                                              \
    X(k_tx_srtp, "_tx_srtp")                                              \
    X(k_state, "_state")                                                  \
    X(k_enabled, "_enabled")                                              \
    X(k_on_packet, "on_packet")                                           \
    X(k_inband, "_inband")                                                \
    X(k_packet_tap, "packet_tap")                                         \
    X(k_sequence_number, "sequence_number")                               \
    X(k_packets_received, "packets_received")                             \
    X(k_rx_bytes, "_RTCDtlsTransport__rx_bytes")                          \
    X(k_rx_packets, "_RTCDtlsTransport__rx_packets")                      \
    X(k_tx_bytes, "_RTCDtlsTransport__tx_bytes")                          \
    X(k_tx_packets, "_RTCDtlsTransport__tx_packets")                      \
    X(k_ntp_timestamp, "_RTCRtpSender__ntp_timestamp")                    \
    X(k_rtp_timestamp, "_RTCRtpSender__rtp_timestamp")                    \
    X(k_octet_count, "_RTCRtpSender__octet_count")                        \
    X(k_packet_count, "_RTCRtpSender__packet_count")                      \
    X(k_base_seq, "base_seq")                                             \
    X(k_max_seq, "max_seq")                                               \
    X(k_cycles, "cycles")                                                 \
    X(k_jitter_q4, "_jitter_q4")                                          \
    X(k_last_arrival, "_last_arrival")                                    \
    X(k_last_timestamp, "_last_timestamp")                                \
    X(k_fileno, "fileno")

/* -------------------------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    /* receiving leg */
    PyObject *dtls_rx;        /* __dict__ of the receiving RTCDtlsTransport */
    PyObject *rx_session;     /* the pylibsrtp.Session expected at dtls_rx["_rx_srtp"] */
    void *rx_ctx;
    srtp_fn unprotect;
    PyObject *receiver;       /* __dict__ of the RTCRtpReceiver */
    PyObject *sink_key;       /* receiver[sink_key] must be `sink` */
    PyObject *sink;
    PyObject *leg;            /* __dict__ of the receiving MediaLeg */
    PyObject *on_packet;      /* leg["on_packet"] must be this */
    PyObject *tap;            /* leg["packet_tap"] must be this; called with (payload, timestamp) unless None */
    PyObject *stats;          /* __dict__ of the SSRC's StreamStatistics */
    PyObject *seen_ms;        /* receiver's {ssrc: last active-SSRC refresh, ms} */
    PyObject *active;         /* receiver's {ssrc: datetime} (getSynchronizationSources) */
    PyObject *current_datetime;
    uint32_t ssrc;
    int payload_type;
    double clock_rate;
    /* listening leg's track (OutboundAudio) */
    PyObject *timeline;       /* its Timeline (TIMELINE_FIELDS) */
    PyTypeObject *timeline_type;                   /* its type, when the offsets were taken */
    Py_ssize_t field_offset[TIMELINE_FIELD_COUNT]; /* where each field's slot is in the object */
    PyObject *source;         /* timeline.source must be this */
    PyObject *key;            /* timeline.last_key must equal this: (origin, ssrc) */
    PyObject *delays_append;  /* track.recent_forward_delays_s.append */
    PyObject *direct;         /* the DirectSend; timeline.direct must be this */
    long long max_reorder, max_jump;
    /* sending side */
    PyObject *sender;         /* __dict__ of the RTCRtpSender */
    PyObject *dtls_tx;        /* __dict__ of its RTCDtlsTransport */
    PyObject *tx_session;
    void *tx_ctx;
    srtp_fn protect;
    PyObject *connected;      /* dtls_tx["_state"] must be this (State.CONNECTED) */
    PyObject *nominated;      /* the aioice connection's {component: pair} */
    PyObject *pair;           /* nominated[1] must be this */
    PyObject *sock;           /* the pair's socket.socket (fileno() is -1 once closed) */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint32_t out_ssrc;
    int out_payload_type;
    uint32_t timestamp_origin;
    unsigned char block[64];
    Py_ssize_t block_len;
    int armed;
} Route;

typedef struct {
    PyObject_HEAD
    PyObject *fallback;       /* the Python path: fallback(data, component) */
    PyObject *route;          /* Route or None */
    unsigned long long relayed;
    unsigned long long fallbacks;
    unsigned long long dropped;
    unsigned long long send_errors;
    vectorcallfunc vectorcall;
} Receive;

static PyTypeObject RouteType;

/* Every object a Route holds a reference to (traverse, clear and init walk this one list). */
#define ROUTE_REFS(X)                                                                             \
    X(dtls_rx) X(rx_session) X(receiver) X(sink_key) X(sink) X(leg) X(on_packet) X(tap) X(stats)  \
    X(seen_ms) X(active) X(current_datetime) X(timeline) X(source) X(key) X(delays_append) X(direct) \
    X(sender) X(dtls_tx) X(tx_session) X(connected) X(nominated) X(pair) X(sock)
#define ADDRESS_OF(field) &self->field,
#define VISIT(field) Py_VISIT(self->field);
#define CLEAR(field) Py_CLEAR(self->field);

/* ---- small helpers ---------------------------------------------------------------------------- */

static inline uint16_t be16(const unsigned char *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t be32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void put16(unsigned char *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xFF; }
static inline void put32(unsigned char *p, uint32_t v) {
    p[0] = v >> 24; p[1] = (v >> 16) & 0xFF; p[2] = (v >> 8) & 0xFF; p[3] = v & 0xFF;
}

/* A borrowed dict item that must exist; NULL (no error set) if missing. */
static inline PyObject *item(PyObject *d, PyObject *k) {
    PyObject *v = PyDict_GetItemWithError(d, k);
    return v;
}

/* dict[k] as a C integer; returns 0 and sets *ok=0 if missing or not an int. */
static inline long long int_item(PyObject *d, PyObject *k, int *ok) {
    PyObject *v = PyDict_GetItemWithError(d, k);
    if (v == NULL || !PyLong_CheckExact(v)) { *ok = 0; return 0; }
    long long x = PyLong_AsLongLong(v);
    if (x == -1 && PyErr_Occurred()) { *ok = 0; return 0; }
    return x;
}

static inline int set_ll(PyObject *d, PyObject *k, long long v) {
    PyObject *o = PyLong_FromLongLong(v);
    if (o == NULL) return -1;
    int r = PyDict_SetItem(d, k, o);
    Py_DECREF(o);
    return r;
}

static inline int set_ull(PyObject *d, PyObject *k, unsigned long long v) {
    PyObject *o = PyLong_FromUnsignedLongLong(v);
    if (o == NULL) return -1;
    int r = PyDict_SetItem(d, k, o);
    Py_DECREF(o);
    return r;
}

/* A Timeline field, in place: its slot in the object, found once per route from the member
 * descriptors `__slots__` created (find_timeline_slots). Reading and writing the slot is exactly
 * what those descriptors do for a T_OBJECT_EX member (PyMember_GetOne / PyMember_SetOne), without
 * the attribute lookup. A field read is borrowed, NULL if the slot is unset. */
static inline PyObject **field(Route *r, enum timeline_field f) {
    return (PyObject **)((char *)r->timeline + r->field_offset[f]);
}

static inline long long int_field(Route *r, enum timeline_field f, int *ok) {
    PyObject *v = *field(r, f);
    if (v == NULL || !PyLong_CheckExact(v)) { *ok = 0; return 0; }
    long long x = PyLong_AsLongLong(v);
    if (x == -1 && PyErr_Occurred()) { *ok = 0; return 0; }
    return x;
}

static inline void set_field(Route *r, enum timeline_field f, PyObject *value /* stolen */) {
    PyObject **slot = field(r, f);
    PyObject *old = *slot;
    *slot = value;
    Py_XDECREF(old);
}

static inline int set_field_ll(Route *r, enum timeline_field f, long long v) {
    PyObject *o = PyLong_FromLongLong(v);
    if (o == NULL) return -1;
    set_field(r, f, o);
    return 0;
}

static int add_to_field(Route *r, enum timeline_field f, long long delta) {
    int ok = 1;
    long long x = int_field(r, f, &ok);
    if (!ok) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "Timeline.%s is not an int", timeline_field_names[f]);
        return -1;
    }
    return set_field_ll(r, f, x + delta);
}

static inline int is_empty(PyObject *v) { return v != NULL && PyObject_Length(v) == 0; }

/* Where each TIMELINE_FIELDS slot is in `timeline` (Route_init): every field must be a plain,
 * writable object slot of its type, set, and the type must use the generic attribute access, so
 * that a Python reader of the object sees what the route wrote. */
static int find_timeline_slots(Route *self) {
    PyTypeObject *type = Py_TYPE(self->timeline);
    if (type->tp_getattro != PyObject_GenericGetAttr || type->tp_setattro != PyObject_GenericSetAttr) {
        PyErr_SetString(PyExc_TypeError, "timeline must be a Timeline (plain attribute access)");
        return -1;
    }
    for (int f = 0; f < TIMELINE_FIELD_COUNT; f++) {
        PyObject *descr = PyObject_GetAttrString((PyObject *)type, timeline_field_names[f]);
        if (descr == NULL) PyErr_Clear();
        int slot = descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
                   ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX &&
                   !(((PyMemberDescrObject *)descr)->d_member->flags & READONLY);
        if (slot) self->field_offset[f] = ((PyMemberDescrObject *)descr)->d_member->offset;
        Py_XDECREF(descr);
        if (!slot || *field(self, f) == NULL) {
            PyErr_Format(PyExc_TypeError, "timeline must be a Timeline (%s is not a set slot)", timeline_field_names[f]);
            return -1;
        }
    }
    self->timeline_type = type;
    return 0;
}

static inline int uint16_gt(long long a, long long b) {
    return (a < b && (b - a) > 0x8000) || (a > b && (a - b) < 0x8000);
}

static inline long long signed32(long long delta) {
    delta &= 0xFFFFFFFFLL;
    return (delta & 0x80000000LL) ? delta - (1LL << 32) : delta;
}

/* ---- Route ------------------------------------------------------------------------------------ */

static void *address_of(PyObject *value, const char *what) {
    unsigned long long a = PyLong_AsUnsignedLongLong(value);
    if (a == (unsigned long long)-1 && PyErr_Occurred()) return NULL;
    if (a == 0) {
        PyErr_Format(PyExc_ValueError, "%s is a null pointer", what);
        return NULL;
    }
    return (void *)(uintptr_t)a;
}

static int Route_init(Route *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {
        "dtls_rx", "rx_session", "rx_ctx", "unprotect", "receiver", "sink_key", "sink", "leg",
        "on_packet", "stats", "seen_ms", "active", "current_datetime", "ssrc", "payload_type",
        "clock_rate", "timeline", "source", "key", "delays_append", "direct", "max_reorder", "max_jump",
        "sender", "dtls_tx", "tx_session", "tx_ctx", "protect", "connected", "nominated", "pair",
        "sock", "remote_host", "remote_port", "out_ssrc", "out_payload_type", "timestamp_origin",
        "block", "tap", NULL};
    PyObject *rx_ctx, *unprotect, *tx_ctx, *protect;
    PyObject **refs[] = {ROUTE_REFS(ADDRESS_OF)};
    const size_t nrefs = sizeof(refs) / sizeof(refs[0]);
    if (self->dtls_rx != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a Route is initialised once");
        return -1;
    }
    const char *host;
    int port;
    unsigned long ssrc, out_ssrc, origin;
    Py_buffer block;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwds,
            "O!OOOO!UOO!OO!O!O!OkidOOOOOLLO!O!OOOOO!OOsikiky*|O:Route", kwlist,
            &PyDict_Type, &self->dtls_rx, &self->rx_session, &rx_ctx, &unprotect,
            &PyDict_Type, &self->receiver, &self->sink_key, &self->sink,
            &PyDict_Type, &self->leg, &self->on_packet,
            &PyDict_Type, &self->stats, &PyDict_Type, &self->seen_ms, &PyDict_Type, &self->active,
            &self->current_datetime, &ssrc, &self->payload_type, &self->clock_rate,
            &self->timeline, &self->source, &self->key, &self->delays_append,
            &self->direct, &self->max_reorder, &self->max_jump,
            &PyDict_Type, &self->sender, &PyDict_Type, &self->dtls_tx, &self->tx_session, &tx_ctx,
            &protect, &self->connected, &PyDict_Type, &self->nominated, &self->pair, &self->sock,
            &host, &port, &out_ssrc, &self->out_payload_type, &origin, &block, &self->tap)) {
        for (size_t i = 0; i < nrefs; i++) *refs[i] = NULL;  /* borrowed: never released */
        return -1;
    }
    if (self->tap == NULL) self->tap = Py_None;  /* optional: no tap */
    int ok = -1;
    if (block.len > (Py_ssize_t)sizeof(self->block)) {
        PyErr_SetString(PyExc_ValueError, "header extension block too long");
        goto done;
    }
    memcpy(self->block, block.buf, block.len);
    self->block_len = block.len;
    if ((self->rx_ctx = address_of(rx_ctx, "rx_ctx")) == NULL) goto done;
    if ((self->tx_ctx = address_of(tx_ctx, "tx_ctx")) == NULL) goto done;
    if ((self->unprotect = (srtp_fn)address_of(unprotect, "unprotect")) == NULL) goto done;
    if ((self->protect = (srtp_fn)address_of(protect, "protect")) == NULL) goto done;
    if (find_timeline_slots(self) < 0) goto done;
    if (!PyCallable_Check(self->current_datetime) || !PyCallable_Check(self->delays_append) ||
        (self->tap != Py_None && !PyCallable_Check(self->tap))) {
        PyErr_SetString(PyExc_TypeError, "current_datetime, delays_append and tap (unless None) must be callable");
        goto done;
    }
    if (port <= 0 || port > 65535 || self->payload_type < 0 || self->payload_type > 127 ||
        self->out_payload_type < 0 || self->out_payload_type > 127 || self->clock_rate <= 0) {
        PyErr_SetString(PyExc_ValueError, "bad port, payload type or clock rate");
        goto done;
    }
    memset(&self->addr, 0, sizeof(self->addr));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&self->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&self->addr;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        self->addrlen = sizeof(*v4);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        self->addrlen = sizeof(*v6);
    } else {
        PyErr_Format(PyExc_ValueError, "remote host %s is not a numeric address", host);
        goto done;
    }
    self->ssrc = (uint32_t)ssrc;
    self->out_ssrc = (uint32_t)out_ssrc;
    self->timestamp_origin = (uint32_t)origin;
    for (size_t i = 0; i < nrefs; i++) Py_INCREF(*refs[i]);
    self->armed = 1;
    ok = 0;
done:
    PyBuffer_Release(&block);
    if (ok < 0)
        for (size_t i = 0; i < nrefs; i++) *refs[i] = NULL;  /* borrowed: never released */
    return ok;
}

static int Route_traverse(Route *self, visitproc visit, void *arg) {
    ROUTE_REFS(VISIT)
    return 0;
}

static int Route_clear(Route *self) {
    self->armed = 0;
    ROUTE_REFS(CLEAR)
    return 0;
}

static void Route_dealloc(Route *self) {
    PyObject_GC_UnTrack(self);
    Route_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Route_disarm(Route *self, PyObject *Py_UNUSED(ignored)) {
    /* Drop every reference at once: a disarmed route can never act again. */
    Route_clear(self);
    Py_RETURN_NONE;
}

static PyObject *Route_get_armed(Route *self, void *Py_UNUSED(closure)) {
    return PyBool_FromLong(self->armed);
}

static PyObject *Route_get_ssrc(Route *self, void *Py_UNUSED(closure)) {
    return PyLong_FromUnsignedLong(self->ssrc);
}

static PyObject *Route_get_direct(Route *self, void *Py_UNUSED(closure)) {
    PyObject *d = self->armed ? self->direct : Py_None;
    Py_INCREF(d);
    return d;
}

static PyObject *Route_get_source(Route *self, void *Py_UNUSED(closure)) {
    PyObject *s = self->armed ? self->source : Py_None;
    Py_INCREF(s);
    return s;
}

static PyMethodDef Route_methods[] = {
    {"disarm", (PyCFunction)Route_disarm, METH_NOARGS, "Never relay again; drop all references."},
    {NULL}};

static PyObject *Route_get_tap(Route *self, void *Py_UNUSED(closure)) {
    PyObject *t = self->armed ? self->tap : Py_None;
    Py_INCREF(t);
    return t;
}

static PyGetSetDef Route_getset[] = {
    {"armed", (getter)Route_get_armed, NULL, "Whether the route may still relay.", NULL},
    {"ssrc", (getter)Route_get_ssrc, NULL, "The remote SSRC it relays.", NULL},
    {"direct", (getter)Route_get_direct, NULL, "The DirectSend it sends through (None once disarmed).", NULL},
    {"source", (getter)Route_get_source, NULL, "The listener's Source it was armed for.", NULL},
    {"tap", (getter)Route_get_tap, NULL, "The leg's packet tap it was armed with (None: no tap).", NULL},
    {NULL}};

static PyTypeObject RouteType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zorio_widget.media.native._fastrelay.Route",
    .tp_basicsize = sizeof(Route),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "One plain relay: a receiver's Opus SSRC to a listener's sender (see the module comment).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Route_init,
    .tp_dealloc = (destructor)Route_dealloc,
    .tp_traverse = (traverseproc)Route_traverse,
    .tp_clear = (inquiry)Route_clear,
    .tp_methods = Route_methods,
    .tp_getset = Route_getset,
};

/* ---- the relay itself ------------------------------------------------------------------------- */

enum outcome { RELAYED, FALLBACK, DROPPED, FAILED };

/* What Route_relay read before committing (nothing is written before every guard passed). */
typedef struct {
    long long last_src_ts, last_pts, high_pts, sequence_number;
    long long packets_received, cycles, jitter_q4, last_arrival, last_timestamp;
    long long base_seq, max_seq;
    int has_base, has_max, has_last_arrival, has_last_timestamp;
} Seen;

static int guards_pass(Route *r) {
    if (item(r->dtls_rx, k_rx_srtp) != r->rx_session) return 0;
    if (item(r->receiver, k_enabled) != Py_True) return 0;
    if (item(r->receiver, r->sink_key) != r->sink) return 0;
    if (item(r->leg, k_on_packet) != r->on_packet) return 0;
    if (item(r->leg, k_inband) != Py_None) return 0;
    if (item(r->leg, k_packet_tap) != r->tap) return 0;
    if (Py_TYPE(r->timeline) != r->timeline_type) return 0;
    if (*field(r, F_SOURCE) != r->source) return 0;
    PyObject *waiter = *field(r, F_WAITER);
    if (waiter == NULL || waiter == Py_None) return 0;      /* the sender loop is parked */
    if (!is_empty(*field(r, F_QUEUED))) return 0;
    if (!is_empty(*field(r, F_OVERLAY))) return 0;
    if (!is_empty(*field(r, F_EVENTS))) return 0;
    if (*field(r, F_IN_EVENT) != Py_False) return 0;
    if (*field(r, F_LIVE) != Py_True) return 0;
    if (*field(r, F_DIRECT) != r->direct) return 0;
    if (item(r->sender, k_enabled) != Py_True) return 0;
    if (item(r->dtls_tx, k_tx_srtp) != r->tx_session) return 0;
    if (item(r->dtls_tx, k_state) != r->connected) return 0;
    if (PyDict_GetItemWithError(r->nominated, k_one) != r->pair) return 0;
    return !PyErr_Occurred();
}

static int read_state(Route *r, uint32_t ts, Seen *s) {
    int ok = 1;
    PyObject *last_key = *field(r, F_LAST_KEY);
    if (last_key == NULL) return 0;
    Py_INCREF(last_key);  /* an __eq__ of ours never runs Python, but hold what is compared */
    int same = PyObject_RichCompareBool(last_key, r->key, Py_EQ);
    Py_DECREF(last_key);
    if (same != 1) return 0;
    s->high_pts = int_field(r, F_HIGH_PTS, &ok);             /* None before the first packet: no */
    s->last_src_ts = int_field(r, F_LAST_SRC_TS, &ok);
    s->last_pts = int_field(r, F_LAST_PTS, &ok);
    if (!ok) return 0;
    long long delta = signed32((long long)ts - s->last_src_ts);
    if (delta < -r->max_reorder || delta > r->max_jump || delta == 0) return 0;  /* Python decides */
    PyObject *seq = PyObject_GetAttr(r->direct, k_sequence_number);
    if (seq == NULL) return 0;
    s->sequence_number = PyLong_AsLongLong(seq);
    Py_DECREF(seq);
    if (s->sequence_number == -1 && PyErr_Occurred()) return 0;
    s->packets_received = int_item(r->stats, k_packets_received, &ok);
    s->cycles = int_item(r->stats, k_cycles, &ok);
    s->jitter_q4 = int_item(r->stats, k_jitter_q4, &ok);
    if (!ok) return 0;
    PyObject *v;
#define OPTIONAL_INT(key, field, flag)                          \
    v = item(r->stats, key);                                   \
    if (v == NULL) return 0;                                   \
    s->flag = v != Py_None;                                    \
    if (s->flag) {                                             \
        s->field = int_item(r->stats, key, &ok);               \
        if (!ok) return 0;                                     \
    }
    OPTIONAL_INT(k_base_seq, base_seq, has_base)
    OPTIONAL_INT(k_max_seq, max_seq, has_max)
    OPTIONAL_INT(k_last_arrival, last_arrival, has_last_arrival)
    OPTIONAL_INT(k_last_timestamp, last_timestamp, has_last_timestamp)
#undef OPTIONAL_INT
    return 1;
}

/* StreamStatistics.add (aiortc 1.16), on the object's own attributes. */
static int add_statistics(Route *r, Seen *s, uint16_t seq, uint32_t ts, long long realtime_ns) {
    int in_order = !s->has_max || uint16_gt(seq, s->max_seq);
    long long received = s->packets_received + 1;
    if (set_ll(r->stats, k_packets_received, received) < 0) return -1;
    if (!s->has_base && set_ll(r->stats, k_base_seq, seq) < 0) return -1;
    if (!in_order) return 0;
    long long arrival = (long long)((double)realtime_ns / 1e9 * r->clock_rate);
    if (s->has_max && seq < s->max_seq && set_ll(r->stats, k_cycles, s->cycles + (1LL << 16)) < 0)
        return -1;
    if (set_ll(r->stats, k_max_seq, seq) < 0) return -1;
    if ((!s->has_last_timestamp || (long long)ts != s->last_timestamp) && received > 1 &&
        s->has_last_arrival && s->has_last_timestamp) {
        long long diff = (arrival - s->last_arrival) - ((long long)ts - s->last_timestamp);
        if (diff < 0) diff = -diff;
        long long q4 = s->jitter_q4 + diff - ((s->jitter_q4 + 8) >> 4);
        if (set_ll(r->stats, k_jitter_q4, q4) < 0) return -1;
    }
    if (set_ll(r->stats, k_last_arrival, arrival) < 0) return -1;
    return set_ll(r->stats, k_last_timestamp, ts);
}

static int add_to(PyObject *d, PyObject *k, long long delta) {
    int ok = 1;
    long long x = int_item(d, k, &ok);
    if (!ok) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_KeyError, "%R missing or not an int", k);
        return -1;
    }
    return set_ll(d, k, x + delta);
}

static int refresh_active(Route *r, long long arrival_ms) {
    PyObject *ssrc = PyLong_FromUnsignedLong(r->ssrc);
    if (ssrc == NULL) return -1;
    int rc = -1;
    PyObject *seen = PyDict_GetItemWithError(r->seen_ms, ssrc);
    long long last = -ACTIVE_SSRC_REFRESH_MS;
    if (seen != NULL) {
        last = PyLong_AsLongLong(seen);
        if (last == -1 && PyErr_Occurred()) goto done;
    } else if (PyErr_Occurred()) {
        goto done;
    }
    if (arrival_ms - last >= ACTIVE_SSRC_REFRESH_MS) {
        PyObject *now = PyObject_CallNoArgs(r->current_datetime);
        if (now == NULL) goto done;
        int set = PyDict_SetItem(r->active, ssrc, now);
        Py_DECREF(now);
        if (set < 0 || set_ll(r->seen_ms, ssrc, arrival_ms) < 0) goto done;
    }
    rc = 0;
done:
    Py_DECREF(ssrc);
    return rc;
}

static enum outcome Route_relay(Route *r, Receive *rx, const unsigned char *data, Py_ssize_t len) {
    if (!r->armed || len < 12 || len > MAX_PACKET) return FALLBACK;
    if ((data[0] & 0xC0) != 0x80 || (data[1] >= 192 && data[1] <= 208)) return FALLBACK;  /* RTCP */
    if (be32(data + 8) != r->ssrc || (data[1] & 0x7F) != r->payload_type) return FALLBACK;
    if (!guards_pass(r)) goto fallback;
    uint16_t seq_in = be16(data + 2);
    uint32_t ts_in = be32(data + 4);
    Seen seen = {0};
    if (!read_state(r, ts_in, &seen)) goto fallback;
    int fd = -1;
    PyObject *fileno = PyObject_CallMethodNoArgs(r->sock, k_fileno);
    if (fileno == NULL) goto fallback;
    fd = (int)PyLong_AsLong(fileno);
    Py_DECREF(fileno);
    if (fd < 0) goto fallback;

    /* From here on, this packet is ours: the Python path is never given it. */
    struct timespec mono, real;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    long long realtime_ns = (long long)real.tv_sec * 1000000000LL + real.tv_nsec;
    if (add_to(r->dtls_rx, k_rx_bytes, len) < 0 || add_to(r->dtls_rx, k_rx_packets, 1) < 0)
        return FAILED;

    unsigned char in[MAX_PACKET + SRTP_MAX_TRAILER_LEN];
    memcpy(in, data, len);
    int n = (int)len;
    if (r->unprotect(r->rx_ctx, in, &n) != 0) return DROPPED;  /* stock: dropped */
    /* RTP header (RtpPacket.parse's rules): CSRCs and extensions skipped, padding removed. */
    if (n < 12) return DROPPED;
    Py_ssize_t pos = 12 + 4 * (in[0] & 0x0F);
    if (in[0] & 0x10) {
        if (pos + 4 > n) return DROPPED;
        pos += 4 + 4 * be16(in + pos + 2);
    }
    Py_ssize_t end = n;
    if (in[0] & 0x20) {
        int padding = in[n - 1];
        if (!padding || padding > n - pos) return DROPPED;
        end -= padding;
    }
    if (pos > end) return DROPPED;
    Py_ssize_t payload_len = end - pos;

    /* receiver bookkeeping (aiortc_hook.receive._divert): active SSRC, statistics; then the leg's count */
    long long arrival_ms = realtime_ns / 1000000 + (long long)NTP_EPOCH_OFFSET_S * 1000;
    if (refresh_active(r, arrival_ms) < 0) return FAILED;
    if (add_statistics(r, &seen, seq_in, ts_in, realtime_ns) < 0) return FAILED;
    if (add_to(r->leg, k_packets_received, 1) < 0) return FAILED;

    /* the leg's taps (Bridge._on_packet: recording, voice activity), before the relay; a tap that
     * raises costs its own packet, never the relay's (the bridge's _Taps already logs its taps' errors) */
    if (r->tap != Py_None) {
        PyObject *tapped = PyObject_CallFunction(r->tap, "y#K", (const char *)(in + pos), payload_len,
                                                 (unsigned long long)ts_in);
        if (tapped == NULL) PyErr_WriteUnraisable(r->tap);
        Py_XDECREF(tapped);
    }

    /* the listener's timeline (OutboundAudio._count_forwarded, then Timeline.advance for a
     * continuing stream) */
    long long pts = seen.last_pts + signed32((long long)ts_in - seen.last_src_ts);
    double now = (double)mono.tv_sec + (double)mono.tv_nsec * 1e-9;
    PyObject *now_obj = PyFloat_FromDouble(now);
    if (now_obj == NULL) return FAILED;
    set_field(r, F_LAST_SENT_AT, now_obj);
    Py_INCREF(Py_None);
    set_field(r, F_GEN_DEADLINE, Py_None);
    if (set_field_ll(r, F_HIGH_PTS, pts > seen.high_pts ? pts : seen.high_pts) < 0 ||
        set_field_ll(r, F_LAST_PTS, pts) < 0 || set_field_ll(r, F_LAST_SRC_TS, ts_in) < 0 ||
        add_to_field(r, F_FORWARDED, 1) < 0 || add_to_field(r, F_PACKETS_SENT, 1) < 0)
        return FAILED;
    PyObject *appended = PyObject_CallOneArg(r->delays_append, k_zero_float);
    if (appended == NULL) return FAILED;
    Py_DECREF(appended);

    /* DirectSend.send */
    uint32_t timestamp = (uint32_t)((unsigned long long)r->timestamp_origin + (unsigned long long)pts);
    uint16_t seq_out = (uint16_t)seen.sequence_number;
    PyObject *next_seq = PyLong_FromLong((seq_out + 1) & 0xFFFF);
    if (next_seq == NULL) return FAILED;
    int st = PyObject_SetAttr(r->direct, k_sequence_number, next_seq);
    Py_DECREF(next_seq);
    if (st < 0) return FAILED;
    unsigned long long us = (unsigned long long)realtime_ns / 1000ULL;
    unsigned long long secs = us / 1000000ULL, micro = us % 1000000ULL;
    unsigned long long ntp = ((secs + NTP_EPOCH_OFFSET_S) << 32) | ((micro << 32) / 1000000ULL);
    if (set_ull(r->sender, k_ntp_timestamp, ntp) < 0 || set_ll(r->sender, k_rtp_timestamp, timestamp) < 0 ||
        add_to(r->sender, k_octet_count, payload_len) < 0 || add_to(r->sender, k_packet_count, 1) < 0)
        return FAILED;

    /* header (12 + a block of at most 64 bytes) + payload (< MAX_PACKET) + SRTP trailer */
    unsigned char out[12 + 64 + MAX_PACKET + SRTP_MAX_TRAILER_LEN];
    Py_ssize_t header = 12 + r->block_len;
    out[0] = r->block_len ? 0x90 : 0x80;
    out[1] = 0x80 | (unsigned char)r->out_payload_type;
    put16(out + 2, seq_out);
    put32(out + 4, timestamp);
    put32(out + 8, r->out_ssrc);
    memcpy(out + 12, r->block, r->block_len);
    memcpy(out + header, in + pos, payload_len);
    int out_len = (int)(header + payload_len);
    if (r->protect(r->tx_ctx, out, &out_len) != 0) return DROPPED;
    if (sendto(fd, out, out_len, 0, (struct sockaddr *)&r->addr, r->addrlen) < 0) rx->send_errors++;
    if (add_to(r->dtls_tx, k_tx_bytes, out_len) < 0 || add_to(r->dtls_tx, k_tx_packets, 1) < 0)
        return FAILED;
    return RELAYED;

fallback:
    if (PyErr_Occurred()) PyErr_Clear();
    return FALLBACK;
}

/* ---- Receive: the aioice connection's data_received ------------------------------------------- */

/* Whether rx's route took this datagram (relayed it, or dropped it as the Python path would),
 * counting which. The route is held meanwhile: Python code runs inside Route_relay (the socket's
 * fileno(), aiortc's current_datetime()), and nothing it does may free the route under our feet. */
static int relayed_natively(Receive *rx, const unsigned char *data, Py_ssize_t len) {
    PyObject *route = rx->route;
    if (route == Py_None) return 0;
    Py_INCREF(route);
    enum outcome result = Route_relay((Route *)route, rx, data, len);
    if (result == RELAYED) rx->relayed++;
    if (result == DROPPED) rx->dropped++;
    if (result == FAILED) {
        /* A bug, not a bad packet: say so, and never relay natively on this route again. */
        PyErr_WriteUnraisable(route);
        Route_clear((Route *)route);
    }
    Py_DECREF(route);
    return result != FALLBACK;
}

static PyObject *Receive_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Receive *self = (Receive *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL || nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "Receive(data, component)");
        return NULL;
    }
    PyObject *data = args[0];
    if (PyBytes_CheckExact(data) &&
        relayed_natively(self, (const unsigned char *)PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data)))
        Py_RETURN_NONE;
    self->fallbacks++;
    return PyObject_Vectorcall(self->fallback, args, 2, NULL);
}

static PyObject *Receive_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *fallback;
    static char *kwlist[] = {"fallback", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:Receive", kwlist, &fallback)) return NULL;
    if (!PyCallable_Check(fallback)) {
        PyErr_SetString(PyExc_TypeError, "fallback must be callable");
        return NULL;
    }
    Receive *self = (Receive *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    Py_INCREF(fallback);
    self->fallback = fallback;
    Py_INCREF(Py_None);
    self->route = Py_None;
    self->vectorcall = Receive_vectorcall;
    return (PyObject *)self;
}

static int Receive_traverse(Receive *self, visitproc visit, void *arg) {
    Py_VISIT(self->fallback);
    Py_VISIT(self->route);
    return 0;
}

static int Receive_clear(Receive *self) {
    Py_CLEAR(self->fallback);
    Py_CLEAR(self->route);
    return 0;
}

static void Receive_dealloc(Receive *self) {
    PyObject_GC_UnTrack(self);
    Receive_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Receive_get_route(Receive *self, void *Py_UNUSED(closure)) {
    PyObject *r = self->route ? self->route : Py_None;
    Py_INCREF(r);
    return r;
}

static int Receive_set_route(Receive *self, PyObject *value, void *Py_UNUSED(closure)) {
    if (value == NULL) value = Py_None;
    if (value != Py_None && !PyObject_TypeCheck(value, &RouteType)) {
        PyErr_SetString(PyExc_TypeError, "route must be a Route or None");
        return -1;
    }
    PyObject *old = self->route;
    Py_INCREF(value);
    self->route = value;
    Py_XDECREF(old);
    return 0;
}

static PyMemberDef Receive_members[] = {
    {"fallback", T_OBJECT, offsetof(Receive, fallback), READONLY, "The Python path."},
    {"relayed", T_ULONGLONG, offsetof(Receive, relayed), READONLY, "Packets relayed here."},
    {"fallbacks", T_ULONGLONG, offsetof(Receive, fallbacks), READONLY, "Datagrams given to the Python path."},
    {"dropped", T_ULONGLONG, offsetof(Receive, dropped), READONLY, "Packets dropped (failed SRTP, bad header)."},
    {"send_errors", T_ULONGLONG, offsetof(Receive, send_errors), READONLY, "sendto failures (packet lost)."},
    {NULL}};

static PyGetSetDef Receive_getset[] = {
    {"route", (getter)Receive_get_route, (setter)Receive_set_route, "The armed Route, or None.", NULL},
    {NULL}};

static PyTypeObject ReceiveType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zorio_widget.media.native._fastrelay.Receive",
    .tp_basicsize = sizeof(Receive),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "An aioice connection's data_received: the route's packets here, the rest to fallback.",
    .tp_new = Receive_new,
    .tp_dealloc = (destructor)Receive_dealloc,
    .tp_traverse = (traverseproc)Receive_traverse,
    .tp_clear = (inquiry)Receive_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Receive, vectorcall),
    .tp_members = Receive_members,
    .tp_getset = Receive_getset,
};

/* ---- Reader: the socket's read callback, in place of asyncio's _read_ready -------------------- */

/*
 * asyncio reads each datagram into a fresh 64 KiB bytes object, shrinks it, builds the address
 * tuple and calls StunProtocol.datagram_received, which calls the connection's data_received:
 * three Python frames and two allocations per packet before a Route sees it. A Reader is
 * registered with the event loop for the socket instead (loop._add_reader): it reads into one
 * static buffer and gives the route's packets to the route directly; everything else becomes
 * exactly the (bytes, address) asyncio would have passed to the protocol.
 */

#define READS_PER_WAKEUP 8

typedef struct {
    PyObject_HEAD
    int fd;
    PyObject *receive;   /* the connection's Receive */
    PyObject *protocol;  /* the StunProtocol asyncio would call */
    PyObject *transport; /* kept alive while registered */
    unsigned long long reads;
    vectorcallfunc vectorcall;
} Reader;

static PyObject *k_datagram_received, *k_error_received;
static unsigned char read_buffer[65536];

static PyObject *address_tuple(const struct sockaddr_storage *addr) {
    char host[INET6_ADDRSTRLEN];
    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;
        if (inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host)) == NULL) return PyErr_SetFromErrno(PyExc_OSError);
        return Py_BuildValue("(si)", host, ntohs(v4->sin_port));
    }
    if (addr->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)addr;
        if (inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host)) == NULL) return PyErr_SetFromErrno(PyExc_OSError);
        return Py_BuildValue("(siII)", host, ntohs(v6->sin6_port), ntohl(v6->sin6_flowinfo), v6->sin6_scope_id);
    }
    PyErr_Format(PyExc_OSError, "unexpected address family %d", addr->ss_family);
    return NULL;
}

static PyObject *Reader_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Reader *self = (Reader *)callable;
    Receive *rx = (Receive *)self->receive;
    for (int i = 0; i < READS_PER_WAKEUP; i++) {
        struct sockaddr_storage addr;
        socklen_t addrlen = sizeof(addr);
        ssize_t n = recvfrom(self->fd, read_buffer, sizeof(read_buffer), MSG_DONTWAIT, (struct sockaddr *)&addr, &addrlen);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            /* as asyncio: an OSError goes to the protocol's error_received */
            PyObject *exc_type = PyExc_OSError;
            PyErr_SetFromErrno(exc_type);
            PyObject *type, *value, *tb;
            PyErr_Fetch(&type, &value, &tb);
            PyErr_NormalizeException(&type, &value, &tb);
            PyObject *r = PyObject_CallMethodOneArg(self->protocol, k_error_received, value);
            Py_XDECREF(type); Py_XDECREF(value); Py_XDECREF(tb);
            if (r == NULL) return NULL;
            Py_DECREF(r);
            break;
        }
        self->reads++;
        if (relayed_natively(rx, read_buffer, n)) continue;
        /* counted as a fallback by the Receive it reaches through the protocol, if it does */
        PyObject *data = PyBytes_FromStringAndSize((const char *)read_buffer, n);
        if (data == NULL) return NULL;
        PyObject *where = address_tuple(&addr);
        if (where == NULL) { Py_DECREF(data); return NULL; }
        PyObject *call_args[] = {self->protocol, data, where};
        PyObject *r = PyObject_VectorcallMethod(k_datagram_received, call_args, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        Py_DECREF(data);
        Py_DECREF(where);
        if (r == NULL) return NULL;  /* the loop's exception handler logs it, as for asyncio's reader */
        Py_DECREF(r);
        break;  /* Python ran: it may have closed the transport, so read on at the next wake-up */
    }
    Py_RETURN_NONE;
}

static PyObject *Reader_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"fd", "receive", "protocol", "transport", NULL};
    int fd;
    PyObject *receive, *protocol, *transport;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iO!OO:Reader", kwlist, &fd, &ReceiveType, &receive, &protocol, &transport))
        return NULL;
    if (fd < 0) {
        PyErr_SetString(PyExc_ValueError, "fd must be an open socket");
        return NULL;
    }
    Reader *self = (Reader *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->fd = fd;
    Py_INCREF(receive); self->receive = receive;
    Py_INCREF(protocol); self->protocol = protocol;
    Py_INCREF(transport); self->transport = transport;
    self->vectorcall = Reader_vectorcall;
    return (PyObject *)self;
}

static int Reader_traverse(Reader *self, visitproc visit, void *arg) {
    Py_VISIT(self->receive); Py_VISIT(self->protocol); Py_VISIT(self->transport);
    return 0;
}

static int Reader_clear(Reader *self) {
    Py_CLEAR(self->receive); Py_CLEAR(self->protocol); Py_CLEAR(self->transport);
    return 0;
}

static void Reader_dealloc(Reader *self) {
    PyObject_GC_UnTrack(self);
    Reader_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef Reader_members[] = {
    {"fd", T_INT, offsetof(Reader, fd), READONLY, "The socket it reads."},
    {"reads", T_ULONGLONG, offsetof(Reader, reads), READONLY, "Datagrams read."},
    {"receive", T_OBJECT, offsetof(Reader, receive), READONLY, "The connection's Receive."},
    {NULL}};

static PyTypeObject ReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zorio_widget.media.native._fastrelay.Reader",
    .tp_basicsize = sizeof(Reader),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "A UDP socket's read callback: the route's packets in C, the rest to the protocol.",
    .tp_new = Reader_new,
    .tp_dealloc = (destructor)Reader_dealloc,
    .tp_traverse = (traverseproc)Reader_traverse,
    .tp_clear = (inquiry)Reader_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Reader, vectorcall),
    .tp_members = Reader_members,
};

/* ---- module ----------------------------------------------------------------------------------- */

static struct PyModuleDef fastrelay_module = {
    PyModuleDef_HEAD_INIT, "_fastrelay",
    "The relay's steady state in native code (see _fastrelay.c).", -1, NULL};

PyMODINIT_FUNC PyInit__fastrelay(void) {
    if (PyType_Ready(&RouteType) < 0 || PyType_Ready(&ReceiveType) < 0 || PyType_Ready(&ReaderType) < 0) return NULL;
    if ((k_datagram_received = PyUnicode_InternFromString("datagram_received")) == NULL ||
        (k_error_received = PyUnicode_InternFromString("error_received")) == NULL)
        return NULL;
    PyObject *list = PyList_New(0);
    if (list == NULL) return NULL;
#define INTERN(var, text)                                                          \
    if ((var = PyUnicode_InternFromString(text)) == NULL || PyList_Append(list, var) < 0) return NULL;
    ATTRIBUTES(INTERN)
    PyObject *fields, *names = PyList_AsTuple(list);
    Py_DECREF(list);
#undef INTERN
    if (names == NULL || (fields = PyTuple_New(TIMELINE_FIELD_COUNT)) == NULL) return NULL;
    for (int f = 0; f < TIMELINE_FIELD_COUNT; f++) {
        PyObject *text = PyUnicode_InternFromString(timeline_field_names[f]);
        if (text == NULL) return NULL;
        PyTuple_SET_ITEM(fields, f, text);
    }
    if ((k_one = PyLong_FromLong(1)) == NULL || (k_zero_float = PyFloat_FromDouble(0.0)) == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&fastrelay_module);
    if (m == NULL) return NULL;
    Py_INCREF(&RouteType);
    Py_INCREF(&ReceiveType);
    Py_INCREF(&ReaderType);
    if (PyModule_AddObject(m, "Route", (PyObject *)&RouteType) < 0 ||
        PyModule_AddObject(m, "Reader", (PyObject *)&ReaderType) < 0 ||
        PyModule_AddObject(m, "Receive", (PyObject *)&ReceiveType) < 0 ||
        PyModule_AddObject(m, "ATTRIBUTE_NAMES", names) < 0 ||
        PyModule_AddObject(m, "TIMELINE_FIELDS", fields) < 0 ||
        PyModule_AddIntConstant(m, "ACTIVE_SSRC_REFRESH_MS", ACTIVE_SSRC_REFRESH_MS) < 0 ||
        PyModule_AddIntConstant(m, "MAX_PACKET", MAX_PACKET) < 0)
        return NULL;
    return m;
}
