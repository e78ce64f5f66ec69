/*
 * rtp_side.c: the trunk legs' side of a route (media/rtp/: an RtpSession, plain RTP over UDP).
 *
 * RtpIngress: what RtpSession._received does with a packet from the far end: from the latched
 * address only, the negotiated audio payload type only (telephone-event and anything else stays
 * Python's, where DTMF is handled), the session's liveness and counters. RtpEgress: what
 * RtpOutbound.push and RtpSession._send do with a relayed payload: renumber on the outbound
 * stream (its own SSRC, sequence numbers and 8 kHz timeline: a continuing stream advances by its
 * own timestamp step), then one sendto on the session's socket to the latched address.
 *
 * The state both read and write is two slots objects of media/rtp/state.py, shared with the
 * Python path: the session's SessionState (SESSION_FIELDS) and the outbound's StreamState
 * (STREAM_FIELDS); tests check both lists against the classes' __slots__.
 */
#include "relay.h"

#include <string.h>

/* SessionState: guards OPEN (True), STATE ("connected"), CODEC / REMOTE_ADDRESS / ON_PACKET /
 * PACKET_TAP (identity), LATCHED (True); written LAST_RX, PACKETS_RECEIVED. */
#define SESSION_FIELDS(X)                                                                          \
    X(OPEN, "open") X(STATE, "state") X(CODEC, "codec") X(REMOTE_ADDRESS, "remote_address")       \
    X(LATCHED, "latched") X(LAST_RX, "last_rx") X(PACKETS_RECEIVED, "packets_received")           \
    X(ON_PACKET, "on_packet") X(PACKET_TAP, "packet_tap")
/* StreamState: guards SOURCE / CODEC (identity), EVENTS / OVERLAY (empty), STOPPED / PAUSED
 * (False), LAST_KEY (equal); read SSRC; written TS, LAST_SRC_TS, SEQ, MARKER, LAST_SENT_AT and the
 * counters PACKETS_SENT, FORWARDED. */
#define STREAM_FIELDS(X)                                                                          \
    X(SOURCE, "source") X(EVENTS, "events") X(OVERLAY, "overlay") X(STOPPED, "stopped")           \
    X(PAUSED, "paused") X(CODEC, "codec") X(SSRC, "ssrc") X(SEQ, "seq") X(TS, "ts")               \
    X(LAST_KEY, "last_key") X(LAST_SRC_TS, "last_src_ts") X(LAST_SENT_AT, "last_sent_at")         \
    X(MARKER, "marker") X(PACKETS_SENT, "packets_sent") X(FORWARDED, "forwarded")
#define SESSION_ID(id, text) S_##id,
#define STREAM_ID(id, text) R_##id,
#define FIELD_TEXT(id, text) text,
enum session_field { SESSION_FIELDS(SESSION_ID) SESSION_FIELD_COUNT };
enum stream_field { STREAM_FIELDS(STREAM_ID) STREAM_FIELD_COUNT };
static const char *const session_field_names[] = {SESSION_FIELDS(FIELD_TEXT)};
static const char *const stream_field_names[] = {STREAM_FIELDS(FIELD_TEXT)};
#undef SESSION_ID
#undef STREAM_ID
#undef FIELD_TEXT

#define ADDRESS_OF(field) &self->field,
#define SESSION(self, f) (*slot_at((self)->session, (self)->session_field[f]))
#define STREAM(self, f) (*slot_at((self)->stream, (self)->stream_field[f]))

/* Whether `value` is the state text it was armed with ("connected"): identity, or equal text. */
static inline int same_text(PyObject *value, PyObject *expected) {
    if (value == expected) return 1;
    return value != NULL && PyUnicode_CheckExact(value) && PyUnicode_Compare(value, expected) == 0;
}

/* The session's slots, found once (find_slots), for the ingress or the egress. */
static int session_slots(PyObject *session, Py_ssize_t offsets[]) {
    return find_slots(session, "session must be a SessionState", session_field_names, SESSION_FIELD_COUNT, offsets);
}

/* The (host, port) of a remote address tuple, as a socket address. */
static int tuple_address(PyObject *remote, struct sockaddr_storage *addr, socklen_t *addrlen) {
    const char *host;
    int port;
    if (!PyTuple_CheckExact(remote) || PyTuple_GET_SIZE(remote) != 2 || !PyArg_ParseTuple(remote, "si", &host, &port)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "remote must be a (host, port) tuple");
        return -1;
    }
    return parse_address(host, port, addr, addrlen);
}

/* ==== RtpIngress ============================================================================== */

typedef struct {
    Ingress base;
    PyObject *session;        /* the RtpSession's SessionState (SESSION_FIELDS) */
    PyObject *on_packet;      /* session.on_packet must be this */
    PyObject *remote;         /* session.remote_address must be this tuple (latched) */
    PyObject *codec;          /* session.codec must be this */
    PyObject *state;          /* session.state must be this ("connected") */
    Py_ssize_t session_field[SESSION_FIELD_COUNT];
    PyTypeObject *session_type;
    struct sockaddr_storage addr;   /* the packets' source must be this: `remote` */
    socklen_t addrlen;
} RtpIngress;

#define RTP_INGRESS_REFS(X) X(base.tap) X(session) X(on_packet) X(remote) X(codec) X(state)

PART_GC(RtpIngress, RTP_INGRESS_REFS, self->base.armed = 0)

static int rtp_in_guards(Ingress *base, Datagram *d) {
    RtpIngress *self = (RtpIngress *)base;
    if (d->from == NULL || !same_address(d->from, &self->addr)) return 0;  /* latching is Python's */
    if (Py_TYPE(self->session) != self->session_type) return 0;
    if (SESSION(self, S_OPEN) != Py_True) return 0;
    if (!same_text(SESSION(self, S_STATE), self->state)) return 0;
    if (SESSION(self, S_REMOTE_ADDRESS) != self->remote) return 0;
    if (SESSION(self, S_LATCHED) != Py_True) return 0;
    if (SESSION(self, S_CODEC) != self->codec) return 0;
    if (SESSION(self, S_ON_PACKET) != self->on_packet) return 0;
    if (SESSION(self, S_PACKET_TAP) != base->tap) return 0;
    /* the RTP header (media/rtp/session.py parse_rtp): CSRCs, an extension, padding skipped;
     * a malformed packet is Python's to count as dropped */
    const unsigned char *data = d->data;
    Py_ssize_t pos = 12 + 4 * (data[0] & 0x0F);
    if (data[0] & 0x10) {
        if (d->len < pos + 4) return 0;
        pos += 4 + 4 * be16(data + pos + 2);
    }
    Py_ssize_t end = d->len;
    if (data[0] & 0x20) end -= data[d->len - 1];
    if (end < pos) return 0;
    d->payload = data + pos;
    d->payload_len = end - pos;
    return 1;
}

static enum outcome rtp_in_take(Ingress *base, Datagram *d) {
    RtpIngress *self = (RtpIngress *)base;
    if (set_slot_double(self->session, self->session_field[S_LAST_RX], d->now) < 0 ||
        add_to_slot(self->session, self->session_field[S_PACKETS_RECEIVED], 1, "packets_received") < 0)
        return FAILED;
    return RELAYED;
}

static const IngressOps rtp_ingress_ops = {rtp_in_guards, rtp_in_take};

static int RtpIngress_init(RtpIngress *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"session", "on_packet", "remote", "codec", "state", "ssrc", "payload_type", "tap", NULL};
    PyObject **refs[] = {RTP_INGRESS_REFS(ADDRESS_OF)};
    const size_t nrefs = sizeof(refs) / sizeof(refs[0]);
    if (self->session != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "an RtpIngress is initialised once");
        return -1;
    }
    unsigned long ssrc;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!OUki|O:RtpIngress", kwlist, &self->session,
                                     &self->on_packet, &PyTuple_Type, &self->remote, &self->codec, &self->state,
                                     &ssrc, &self->base.payload_type, &self->base.tap))
        goto failed;
    if (self->base.tap == NULL) self->base.tap = Py_None;
    if (self->base.tap != Py_None && !PyCallable_Check(self->base.tap)) {
        PyErr_SetString(PyExc_TypeError, "tap must be callable or None");
        goto failed;
    }
    if (self->base.payload_type < 0 || self->base.payload_type > 127) {
        PyErr_SetString(PyExc_ValueError, "bad payload type");
        goto failed;
    }
    if (session_slots(self->session, self->session_field) < 0) goto failed;
    if (tuple_address(self->remote, &self->addr, &self->addrlen) < 0) goto failed;
    self->session_type = Py_TYPE(self->session);
    self->base.ssrc = (uint32_t)ssrc;
    ARM_PART(self->base, &rtp_ingress_ops, refs, nrefs);
    return 0;
failed:
    FORGET_REFS(refs, nrefs);
    return -1;
}

PART_TYPE(RtpIngress, "A route's ingress from an RtpSession: the far end's audio packets (rtp_side.c).")

/* ==== RtpEgress =============================================================================== */

typedef struct {
    Egress base;              /* target: the StreamState */
    PyObject *stream;         /* the RtpOutbound's StreamState (STREAM_FIELDS); = base.target */
    PyObject *session;        /* the sending RtpSession's SessionState */
    PyObject *key;            /* stream.last_key must equal this: (origin, ssrc) */
    PyObject *codec;          /* stream.codec must be this */
    PyObject *remote;         /* session.remote_address must be this tuple: where it sends */
    PyObject *sock;           /* the session's socket (fileno() is -1 once closed) */
    Py_ssize_t stream_field[STREAM_FIELD_COUNT];
    Py_ssize_t session_field[SESSION_FIELD_COUNT];
    PyTypeObject *stream_type, *session_type;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int payload_type;         /* the codec's */
    long long max_jump;
    /* read by the guards for the send */
    long long ts, seq, ssrc, delta;
    int marker, fd;
} RtpEgress;

#define RTP_EGRESS_REFS(X) X(base.source) X(base.target) X(stream) X(session) X(key) X(codec) X(remote) X(sock)

PART_GC(RtpEgress, RTP_EGRESS_REFS, self->base.armed = 0)

static int rtp_out_guards(Egress *base, Datagram *d) {
    RtpEgress *self = (RtpEgress *)base;
    if (Py_TYPE(self->stream) != self->stream_type || Py_TYPE(self->session) != self->session_type) return 0;
    if (STREAM(self, R_SOURCE) != base->source) return 0;
    if (!is_empty(STREAM(self, R_EVENTS)) || !is_empty(STREAM(self, R_OVERLAY))) return 0;
    if (STREAM(self, R_STOPPED) != Py_False || STREAM(self, R_PAUSED) != Py_False) return 0;
    if (STREAM(self, R_CODEC) != self->codec) return 0;
    if (SESSION(self, S_OPEN) != Py_True || SESSION(self, S_REMOTE_ADDRESS) != self->remote) return 0;
    /* RtpOutbound.push: only a packet continuing the last relayed stream keeps its own step */
    PyObject *last_key = STREAM(self, R_LAST_KEY);
    if (last_key == NULL) return 0;
    Py_INCREF(last_key);
    int same = PyObject_RichCompareBool(last_key, self->key, Py_EQ);
    Py_DECREF(last_key);
    if (same != 1) return 0;
    int ok = 1;
    long long last_src_ts = int_slot(self->stream, self->stream_field[R_LAST_SRC_TS], &ok);
    self->ts = int_slot(self->stream, self->stream_field[R_TS], &ok);
    self->seq = int_slot(self->stream, self->stream_field[R_SEQ], &ok);
    self->ssrc = int_slot(self->stream, self->stream_field[R_SSRC], &ok);
    if (!ok) return 0;
    self->delta = ((long long)d->ts - last_src_ts) & 0xFFFFFFFFLL;
    if (self->delta <= 0 || self->delta > self->max_jump) return 0;  /* a new talkspurt: Python's */
    PyObject *marker = STREAM(self, R_MARKER);
    if (marker != Py_True && marker != Py_False) return 0;
    self->marker = marker == Py_True;
    self->fd = socket_fd(self->sock);
    return self->fd >= 0;
}

static enum outcome rtp_out_send(Egress *base, Datagram *d, unsigned long long *send_errors) {
    RtpEgress *self = (RtpEgress *)base;
    PyObject *st = self->stream;
    long long ts = (self->ts + self->delta) & 0xFFFFFFFFLL;
    long long seq = (self->seq + 1) & 0xFFFF;
    if (set_slot_ll(st, self->stream_field[R_TS], ts) < 0 ||
        set_slot_ll(st, self->stream_field[R_LAST_SRC_TS], d->ts) < 0 ||
        add_to_slot(st, self->stream_field[R_FORWARDED], 1, "forwarded") < 0 ||
        set_slot_ll(st, self->stream_field[R_SEQ], seq) < 0 ||
        set_slot_double(st, self->stream_field[R_LAST_SENT_AT], d->now) < 0 ||
        add_to_slot(st, self->stream_field[R_PACKETS_SENT], 1, "packets_sent") < 0)
        return FAILED;
    Py_INCREF(Py_False);
    set_slot(st, self->stream_field[R_MARKER], Py_False);
    unsigned char out[12 + MAX_PACKET];
    out[0] = 0x80;
    out[1] = (self->marker ? 0x80 : 0) | (unsigned char)self->payload_type;
    put16(out + 2, (uint16_t)seq);
    put32(out + 4, (uint32_t)ts);
    put32(out + 8, (uint32_t)self->ssrc);
    memcpy(out + 12, d->payload, d->payload_len);
    if (sendto(self->fd, out, 12 + d->payload_len, 0, (struct sockaddr *)&self->addr, self->addrlen) < 0)
        (*send_errors)++;
    return RELAYED;
}

static const EgressOps rtp_egress_ops = {rtp_out_guards, rtp_out_send};

static int RtpEgress_init(RtpEgress *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"stream", "session", "source", "key", "codec", "remote", "sock", "payload_type",
                             "max_jump", NULL};
    PyObject **refs[] = {RTP_EGRESS_REFS(ADDRESS_OF)};
    const size_t nrefs = sizeof(refs) / sizeof(refs[0]);
    if (self->stream != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "an RtpEgress is initialised once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOO!OiL:RtpEgress", kwlist, &self->stream, &self->session,
                                     &self->base.source, &self->key, &self->codec, &PyTuple_Type, &self->remote,
                                     &self->sock, &self->payload_type, &self->max_jump))
        goto failed;
    self->base.target = self->stream;
    if (self->payload_type < 0 || self->payload_type > 127 || self->max_jump < 1) {
        PyErr_SetString(PyExc_ValueError, "bad payload type or maximum jump");
        goto failed;
    }
    if (find_slots(self->stream, "stream must be a StreamState", stream_field_names, STREAM_FIELD_COUNT,
                   self->stream_field) < 0 ||
        session_slots(self->session, self->session_field) < 0 ||
        tuple_address(self->remote, &self->addr, &self->addrlen) < 0)
        goto failed;
    self->stream_type = Py_TYPE(self->stream);
    self->session_type = Py_TYPE(self->session);
    ARM_PART(self->base, &rtp_egress_ops, refs, nrefs);
    return 0;
failed:
    FORGET_REFS(refs, nrefs);
    return -1;
}

PART_TYPE(RtpEgress, "A route's egress to an RtpOutbound: its stream, plain RTP to the latched far end (rtp_side.c).")

/* ==== module ================================================================================== */

static PyObject *names_tuple(const char *const names[], int count) {
    PyObject *tuple = PyTuple_New(count);
    if (tuple == NULL) return NULL;
    for (int i = 0; i < count; i++) {
        PyObject *text = intern_name(names[i], NULL);
        if (text == NULL) {
            Py_DECREF(tuple);
            return NULL;
        }
        PyTuple_SET_ITEM(tuple, i, text);
    }
    return tuple;
}

int rtp_side_init(PyObject *module) {
    RtpIngressType.tp_base = &IngressType;
    RtpEgressType.tp_base = &EgressType;
    if (PyType_Ready(&RtpIngressType) < 0 || PyType_Ready(&RtpEgressType) < 0) return -1;
    PyObject *session = names_tuple(session_field_names, SESSION_FIELD_COUNT);
    if (session == NULL) return -1;
    if (PyModule_AddObject(module, "SESSION_FIELDS", session) < 0) {
        Py_DECREF(session);
        return -1;
    }
    PyObject *stream = names_tuple(stream_field_names, STREAM_FIELD_COUNT);
    if (stream == NULL) return -1;
    if (PyModule_AddObject(module, "STREAM_FIELDS", stream) < 0) {
        Py_DECREF(stream);
        return -1;
    }
    Py_INCREF(&RtpIngressType);
    Py_INCREF(&RtpEgressType);
    if (PyModule_AddObject(module, "RtpIngress", (PyObject *)&RtpIngressType) < 0 ||
        PyModule_AddObject(module, "RtpEgress", (PyObject *)&RtpEgressType) < 0)
        return -1;
    return 0;
}
