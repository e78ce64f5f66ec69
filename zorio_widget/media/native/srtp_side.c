/*
 * srtp_side.c: the aiortc legs' side of a route (a browser's peer connection).
 *
 * SrtpIngress: what aiortc_hook.receive._FastReceive and _divert do with an SRTP packet of the
 * receiving leg: unprotect with its SRTP session, the receiver's bookkeeping (active SSRC,
 * StreamStatistics.add), the MediaLeg's packet count. SrtpEgress: what OutboundAudio.push and
 * aiortc_hook.send.DirectSend do with a relayed packet: renumber on the listener track's Timeline
 * (timestamps of G.711 scaled to its 48 kHz timeline, as push does), protect with the sender's
 * SRTP session, sendto the nominated pair's socket, the RTCP sender-report and DTLS counters.
 *
 * aiortc's own state (receiver statistics, RTCP and DTLS counters) is read and written in the
 * objects' __dict__s, under the names of ATTRIBUTES below (aiortc_hook/inventory.py lists them);
 * the track's side is its Timeline's slots (TIMELINE_FIELDS, checked against Timeline.__slots__).
 * The SRTP sessions are pylibsrtp's: their libsrtp `srtp_t` and the `srtp_protect` /
 * `srtp_unprotect` entry points are handed over as addresses (pylibsrtp's cffi `ffi.addressof`).
 */
#include "relay.h"

#include <arpa/inet.h>
#include <string.h>

typedef int (*srtp_fn)(void *ctx, void *hdr, int *len);

static PyObject *k_rx_srtp, *k_tx_srtp, *k_state, *k_enabled, *k_on_packet, *k_inband, *k_packet_tap,
    *k_sequence_number, *k_packets_received, *k_rx_bytes, *k_rx_packets, *k_tx_bytes, *k_tx_packets,
    *k_ntp_timestamp, *k_rtp_timestamp, *k_octet_count, *k_packet_count, *k_base_seq, *k_max_seq,
    *k_cycles, *k_jitter_q4, *k_last_arrival, *k_last_timestamp, *k_one, *k_zero_float;

/* (variable, attribute name) of the __dict__ entries and other attributes this side uses,
 * exported in ATTRIBUTE_NAMES so Python can check them. */
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
    X(k_last_timestamp, "_last_timestamp")

/* The fields of media/timeline.py's Timeline the egress reads and writes, exported as
 * TIMELINE_FIELDS. Guards: SOURCE (identity), WAITER (not None: the sender loop is parked),
 * QUEUED / OVERLAY / EVENTS (empty), IN_EVENT (False), LIVE (True), DIRECT (identity). Timeline:
 * HIGH_PTS, LAST_KEY, LAST_SRC_TS, LAST_PTS read; HIGH_PTS, LAST_PTS, LAST_SRC_TS, LAST_SENT_AT,
 * GEN_DEADLINE written. Counters: PACKETS_SENT, FORWARDED. */
#define TIMELINE_FIELDS(X)                                                                        \
    X(SOURCE, "source") X(WAITER, "waiter") X(QUEUED, "queued") X(OVERLAY, "overlay")             \
    X(EVENTS, "events") X(IN_EVENT, "in_event") X(LIVE, "live") X(DIRECT, "direct")               \
    X(HIGH_PTS, "high_pts") X(LAST_KEY, "last_key") X(LAST_SRC_TS, "last_src_ts")                 \
    X(LAST_PTS, "last_pts") X(LAST_SENT_AT, "last_sent_at") X(GEN_DEADLINE, "gen_deadline")       \
    X(PACKETS_SENT, "packets_sent") X(FORWARDED, "forwarded")
#define FIELD_ID(id, text) T_##id,
#define FIELD_TEXT(id, text) text,
enum timeline_field { TIMELINE_FIELDS(FIELD_ID) TIMELINE_FIELD_COUNT };
static const char *const timeline_field_names[] = {TIMELINE_FIELDS(FIELD_TEXT)};
#undef FIELD_ID
#undef FIELD_TEXT

static inline PyObject *item(PyObject *d, PyObject *k) { return PyDict_GetItemWithError(d, k); }

/* ==== SrtpIngress ============================================================================ */

typedef struct {
    Ingress base;
    PyObject *dtls_rx;        /* __dict__ of the receiving RTCDtlsTransport */
    PyObject *rx_session;     /* the pylibsrtp.Session expected at dtls_rx["_rx_srtp"] */
    PyObject *receiver;       /* __dict__ of the RTCRtpReceiver */
    PyObject *sink_key;       /* receiver[sink_key] must be `sink` */
    PyObject *sink;
    PyObject *leg;            /* __dict__ of the receiving MediaLeg */
    PyObject *on_packet;      /* leg["on_packet"] must be this */
    PyObject *stats;          /* __dict__ of the SSRC's StreamStatistics */
    PyObject *seen_ms;        /* receiver's {ssrc: last active-SSRC refresh, ms} */
    PyObject *active;         /* receiver's {ssrc: datetime} (getSynchronizationSources) */
    PyObject *current_datetime;
    void *rx_ctx;
    srtp_fn unprotect;
    double clock_rate;
    /* read by the guards for the take (nothing is written before every guard passed) */
    long long packets_received, cycles, jitter_q4, last_arrival, last_timestamp, base_seq, max_seq;
    int has_base, has_max, has_last_arrival, has_last_timestamp;
} SrtpIngress;

#define SRTP_INGRESS_REFS(X)                                                                       \
    X(base.tap) X(dtls_rx) X(rx_session) X(receiver) X(sink_key) X(sink) X(leg) X(on_packet) X(stats) \
    X(seen_ms) X(active) X(current_datetime)
#define ADDRESS_OF(field) &self->field,

PART_GC(SrtpIngress, SRTP_INGRESS_REFS, self->base.armed = 0)

static int srtp_in_guards(Ingress *base, Datagram *d) {
    SrtpIngress *self = (SrtpIngress *)base;
    if (item(self->dtls_rx, k_rx_srtp) != self->rx_session) return 0;
    if (item(self->receiver, k_enabled) != Py_True) return 0;
    if (item(self->receiver, self->sink_key) != self->sink) return 0;
    if (item(self->leg, k_on_packet) != self->on_packet) return 0;
    if (item(self->leg, k_inband) != Py_None) return 0;
    if (item(self->leg, k_packet_tap) != base->tap) return 0;
    if (PyErr_Occurred()) return 0;
    int ok = 1;
    self->packets_received = int_item(self->stats, k_packets_received, &ok);
    self->cycles = int_item(self->stats, k_cycles, &ok);
    self->jitter_q4 = int_item(self->stats, k_jitter_q4, &ok);
    if (!ok) return 0;
    PyObject *v;
#define OPTIONAL_INT(key, field, flag)                             \
    v = item(self->stats, key);                                   \
    if (v == NULL) return 0;                                      \
    self->flag = v != Py_None;                                    \
    if (self->flag) {                                             \
        self->field = int_item(self->stats, key, &ok);            \
        if (!ok) return 0;                                        \
    }
    OPTIONAL_INT(k_base_seq, base_seq, has_base)
    OPTIONAL_INT(k_max_seq, max_seq, has_max)
    OPTIONAL_INT(k_last_arrival, last_arrival, has_last_arrival)
    OPTIONAL_INT(k_last_timestamp, last_timestamp, has_last_timestamp)
#undef OPTIONAL_INT
    return 1;
}

static inline int uint16_gt(long long a, long long b) {
    return (a < b && (b - a) > 0x8000) || (a > b && (a - b) < 0x8000);
}

/* StreamStatistics.add (aiortc 1.16), on the object's own attributes. */
static int add_statistics(SrtpIngress *self, uint16_t seq, uint32_t ts, long long realtime_ns) {
    PyObject *stats = self->stats;
    int in_order = !self->has_max || uint16_gt(seq, self->max_seq);
    long long received = self->packets_received + 1;
    if (set_ll(stats, k_packets_received, received) < 0) return -1;
    if (!self->has_base && set_ll(stats, k_base_seq, seq) < 0) return -1;
    if (!in_order) return 0;
    long long arrival = (long long)((double)realtime_ns / 1e9 * self->clock_rate);
    if (self->has_max && seq < self->max_seq && set_ll(stats, k_cycles, self->cycles + (1LL << 16)) < 0)
        return -1;
    if (set_ll(stats, k_max_seq, seq) < 0) return -1;
    if ((!self->has_last_timestamp || (long long)ts != self->last_timestamp) && received > 1 &&
        self->has_last_arrival && self->has_last_timestamp) {
        long long diff = (arrival - self->last_arrival) - ((long long)ts - self->last_timestamp);
        if (diff < 0) diff = -diff;
        long long q4 = self->jitter_q4 + diff - ((self->jitter_q4 + 8) >> 4);
        if (set_ll(stats, k_jitter_q4, q4) < 0) return -1;
    }
    if (set_ll(stats, k_last_arrival, arrival) < 0) return -1;
    return set_ll(stats, k_last_timestamp, ts);
}

static int refresh_active(SrtpIngress *self, long long arrival_ms) {
    PyObject *ssrc = PyLong_FromUnsignedLong(self->base.ssrc);
    if (ssrc == NULL) return -1;
    int rc = -1;
    PyObject *seen = PyDict_GetItemWithError(self->seen_ms, ssrc);
    long long last = -ACTIVE_SSRC_REFRESH_MS;
    if (seen != NULL) {
        last = PyLong_AsLongLong(seen);
        if (last == -1 && PyErr_Occurred()) goto done;
    } else if (PyErr_Occurred()) {
        goto done;
    }
    if (arrival_ms - last >= ACTIVE_SSRC_REFRESH_MS) {
        PyObject *now = PyObject_CallNoArgs(self->current_datetime);
        if (now == NULL) goto done;
        int set = PyDict_SetItem(self->active, ssrc, now);
        Py_DECREF(now);
        if (set < 0 || set_ll(self->seen_ms, ssrc, arrival_ms) < 0) goto done;
    }
    rc = 0;
done:
    Py_DECREF(ssrc);
    return rc;
}

static enum outcome srtp_in_take(Ingress *base, Datagram *d) {
    SrtpIngress *self = (SrtpIngress *)base;
    if (add_to(self->dtls_rx, k_rx_bytes, d->len) < 0 || add_to(self->dtls_rx, k_rx_packets, 1) < 0)
        return FAILED;
    unsigned char *in = d->buffer;
    memcpy(in, d->data, d->len);
    int n = (int)d->len;
    if (self->unprotect(self->rx_ctx, in, &n) != 0) return DROPPED;  /* stock: dropped */
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
    d->payload = in + pos;
    d->payload_len = end - pos;
    /* receiver bookkeeping (aiortc_hook.receive._divert): active SSRC, statistics; the leg's count */
    long long arrival_ms = d->realtime_ns / 1000000 + (long long)NTP_EPOCH_OFFSET_S * 1000;
    if (refresh_active(self, arrival_ms) < 0) return FAILED;
    if (add_statistics(self, d->seq, d->ts, d->realtime_ns) < 0) return FAILED;
    if (add_to(self->leg, k_packets_received, 1) < 0) return FAILED;
    return RELAYED;
}

static const IngressOps srtp_ingress_ops = {srtp_in_guards, srtp_in_take};

static int SrtpIngress_init(SrtpIngress *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {
        "dtls_rx", "rx_session", "rx_ctx", "unprotect", "receiver", "sink_key", "sink", "leg",
        "on_packet", "stats", "seen_ms", "active", "current_datetime", "ssrc", "payload_type",
        "clock_rate", "tap", NULL};
    PyObject *rx_ctx, *unprotect;
    PyObject **refs[] = {SRTP_INGRESS_REFS(ADDRESS_OF)};
    const size_t nrefs = sizeof(refs) / sizeof(refs[0]);
    if (self->dtls_rx != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "an SrtpIngress is initialised once");
        return -1;
    }
    unsigned long ssrc;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwds, "O!OOOO!UOO!OO!O!O!Okid|O:SrtpIngress", kwlist,
            &PyDict_Type, &self->dtls_rx, &self->rx_session, &rx_ctx, &unprotect,
            &PyDict_Type, &self->receiver, &self->sink_key, &self->sink,
            &PyDict_Type, &self->leg, &self->on_packet,
            &PyDict_Type, &self->stats, &PyDict_Type, &self->seen_ms, &PyDict_Type, &self->active,
            &self->current_datetime, &ssrc, &self->base.payload_type, &self->clock_rate, &self->base.tap))
        goto failed;
    if (self->base.tap == NULL) self->base.tap = Py_None;
    if ((self->rx_ctx = address_of(rx_ctx, "rx_ctx")) == NULL) goto failed;
    if ((self->unprotect = (srtp_fn)address_of(unprotect, "unprotect")) == NULL) goto failed;
    if (!PyCallable_Check(self->current_datetime) || (self->base.tap != Py_None && !PyCallable_Check(self->base.tap))) {
        PyErr_SetString(PyExc_TypeError, "current_datetime and tap (unless None) must be callable");
        goto failed;
    }
    if (self->base.payload_type < 0 || self->base.payload_type > 127 || self->clock_rate <= 0) {
        PyErr_SetString(PyExc_ValueError, "bad payload type or clock rate");
        goto failed;
    }
    self->base.ssrc = (uint32_t)ssrc;
    ARM_PART(self->base, &srtp_ingress_ops, refs, nrefs);
    return 0;
failed:
    FORGET_REFS(refs, nrefs);
    return -1;
}

PART_TYPE(SrtpIngress, "A route's ingress from an aiortc receiver: one SSRC's SRTP packets (srtp_side.c).")

/* ==== SrtpEgress ============================================================================= */

typedef struct {
    Egress base;              /* target: the DirectSend (timeline.direct must be it) */
    PyObject *timeline;       /* the listening track's Timeline (TIMELINE_FIELDS) */
    PyObject *key;            /* timeline.last_key must equal this: (origin, ssrc) */
    PyObject *delays_append;  /* track.recent_forward_delays_s.append */
    PyObject *sender;         /* __dict__ of the RTCRtpSender */
    PyObject *dtls_tx;        /* __dict__ of its RTCDtlsTransport */
    PyObject *tx_session;
    PyObject *connected;      /* dtls_tx["_state"] must be this (State.CONNECTED) */
    PyObject *nominated;      /* the aioice connection's {component: pair} */
    PyObject *pair;           /* nominated[1] must be this */
    PyObject *sock;           /* the pair's socket.socket (fileno() is -1 once closed) */
    PyTypeObject *timeline_type;                   /* its type, when the offsets were taken */
    Py_ssize_t field[TIMELINE_FIELD_COUNT];        /* where each field's slot is in the object */
    void *tx_ctx;
    srtp_fn protect;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint32_t out_ssrc;
    int out_payload_type;
    uint32_t timestamp_origin;
    unsigned char block[64];
    Py_ssize_t block_len;
    long long max_reorder, max_jump;
    long long timestamp_scale;   /* source RTP clock -> the track's 48 kHz timeline (6 for G.711) */
    long long clock_divisor;     /* the track's pts -> the sent codec's RTP clock (6 for G.711) */
    /* read by the guards for the send */
    long long src_ts, last_src_ts, last_pts, high_pts, sequence_number;
    int fd;
} SrtpEgress;

#define SRTP_EGRESS_REFS(X)                                                                    \
    X(base.source) X(base.target) X(timeline) X(key) X(delays_append) X(sender) X(dtls_tx)     \
    X(tx_session) X(connected) X(nominated) X(pair) X(sock)

PART_GC(SrtpEgress, SRTP_EGRESS_REFS, self->base.armed = 0)

#define FIELD(self, f) (*slot_at((self)->timeline, (self)->field[f]))

static int srtp_out_guards(Egress *base, Datagram *d) {
    SrtpEgress *self = (SrtpEgress *)base;
    if (Py_TYPE(self->timeline) != self->timeline_type) return 0;
    if (FIELD(self, T_SOURCE) != base->source) return 0;
    PyObject *waiter = FIELD(self, T_WAITER);
    if (waiter == NULL || waiter == Py_None) return 0;      /* the sender loop is parked */
    if (!is_empty(FIELD(self, T_QUEUED))) return 0;
    if (!is_empty(FIELD(self, T_OVERLAY))) return 0;
    if (!is_empty(FIELD(self, T_EVENTS))) return 0;
    if (FIELD(self, T_IN_EVENT) != Py_False) return 0;
    if (FIELD(self, T_LIVE) != Py_True) return 0;
    if (FIELD(self, T_DIRECT) != base->target) return 0;
    if (item(self->sender, k_enabled) != Py_True) return 0;
    if (item(self->dtls_tx, k_tx_srtp) != self->tx_session) return 0;
    if (item(self->dtls_tx, k_state) != self->connected) return 0;
    if (PyDict_GetItemWithError(self->nominated, k_one) != self->pair) return 0;
    if (PyErr_Occurred()) return 0;
    /* the timeline: only a packet continuing the last relayed stream (Timeline.next_pts's first case) */
    int ok = 1;
    PyObject *last_key = FIELD(self, T_LAST_KEY);
    if (last_key == NULL) return 0;
    Py_INCREF(last_key);  /* an __eq__ of ours never runs Python, but hold what is compared */
    int same = PyObject_RichCompareBool(last_key, self->key, Py_EQ);
    Py_DECREF(last_key);
    if (same != 1) return 0;
    self->high_pts = int_slot(self->timeline, self->field[T_HIGH_PTS], &ok);  /* None before the first packet: no */
    self->last_src_ts = int_slot(self->timeline, self->field[T_LAST_SRC_TS], &ok);
    self->last_pts = int_slot(self->timeline, self->field[T_LAST_PTS], &ok);
    if (!ok) return 0;
    self->src_ts = ((long long)d->ts * self->timestamp_scale) & 0xFFFFFFFFLL;  /* OutboundAudio.push */
    long long delta = signed32(self->src_ts - self->last_src_ts);
    if (delta < -self->max_reorder || delta > self->max_jump || delta == 0) return 0;  /* Python decides */
    PyObject *seq = PyObject_GetAttr(base->target, k_sequence_number);
    if (seq == NULL) return 0;
    self->sequence_number = PyLong_AsLongLong(seq);
    Py_DECREF(seq);
    if (self->sequence_number == -1 && PyErr_Occurred()) return 0;
    self->fd = socket_fd(self->sock);
    return self->fd >= 0;
}

static inline long long floor_div(long long a, long long b) {
    long long q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static enum outcome srtp_out_send(Egress *base, Datagram *d, unsigned long long *send_errors) {
    SrtpEgress *self = (SrtpEgress *)base;
    PyObject *tl = self->timeline;
    /* the listener's timeline (OutboundAudio._count_forwarded, then Timeline.advance for a
     * continuing stream) */
    long long pts = self->last_pts + signed32(self->src_ts - self->last_src_ts);
    if (set_slot_double(tl, self->field[T_LAST_SENT_AT], d->now) < 0) return FAILED;
    Py_INCREF(Py_None);
    set_slot(tl, self->field[T_GEN_DEADLINE], Py_None);
    if (set_slot_ll(tl, self->field[T_HIGH_PTS], pts > self->high_pts ? pts : self->high_pts) < 0 ||
        set_slot_ll(tl, self->field[T_LAST_PTS], pts) < 0 || set_slot_ll(tl, self->field[T_LAST_SRC_TS], self->src_ts) < 0 ||
        add_to_slot(tl, self->field[T_FORWARDED], 1, "forwarded") < 0 ||
        add_to_slot(tl, self->field[T_PACKETS_SENT], 1, "packets_sent") < 0)
        return FAILED;
    PyObject *appended = PyObject_CallOneArg(self->delays_append, k_zero_float);
    if (appended == NULL) return FAILED;
    Py_DECREF(appended);

    /* DirectSend.send */
    uint32_t timestamp = (uint32_t)((unsigned long long)self->timestamp_origin +
                                    (unsigned long long)floor_div(pts, self->clock_divisor));
    uint16_t seq_out = (uint16_t)self->sequence_number;
    PyObject *next_seq = PyLong_FromLong((seq_out + 1) & 0xFFFF);
    if (next_seq == NULL) return FAILED;
    int st = PyObject_SetAttr(base->target, k_sequence_number, next_seq);
    Py_DECREF(next_seq);
    if (st < 0) return FAILED;
    unsigned long long us = (unsigned long long)d->realtime_ns / 1000ULL;
    unsigned long long secs = us / 1000000ULL, micro = us % 1000000ULL;
    unsigned long long ntp = ((secs + NTP_EPOCH_OFFSET_S) << 32) | ((micro << 32) / 1000000ULL);
    if (set_ull(self->sender, k_ntp_timestamp, ntp) < 0 || set_ll(self->sender, k_rtp_timestamp, timestamp) < 0 ||
        add_to(self->sender, k_octet_count, d->payload_len) < 0 || add_to(self->sender, k_packet_count, 1) < 0)
        return FAILED;

    unsigned char out[MAX_OUT_PACKET];
    Py_ssize_t header = 12 + self->block_len;
    out[0] = self->block_len ? 0x90 : 0x80;
    out[1] = 0x80 | (unsigned char)self->out_payload_type;
    put16(out + 2, seq_out);
    put32(out + 4, timestamp);
    put32(out + 8, self->out_ssrc);
    memcpy(out + 12, self->block, self->block_len);
    memcpy(out + header, d->payload, d->payload_len);
    int out_len = (int)(header + d->payload_len);
    if (self->protect(self->tx_ctx, out, &out_len) != 0) return DROPPED;
    if (sendto(self->fd, out, out_len, 0, (struct sockaddr *)&self->addr, self->addrlen) < 0) (*send_errors)++;
    if (add_to(self->dtls_tx, k_tx_bytes, out_len) < 0 || add_to(self->dtls_tx, k_tx_packets, 1) < 0)
        return FAILED;
    return RELAYED;
}

static const EgressOps srtp_egress_ops = {srtp_out_guards, srtp_out_send};

static int SrtpEgress_init(SrtpEgress *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {
        "timeline", "source", "key", "delays_append", "direct", "max_reorder", "max_jump",
        "sender", "dtls_tx", "tx_session", "tx_ctx", "protect", "connected", "nominated", "pair",
        "sock", "remote_host", "remote_port", "out_ssrc", "out_payload_type", "timestamp_origin",
        "block", "timestamp_scale", "clock_divisor", NULL};
    PyObject *tx_ctx, *protect;
    PyObject **refs[] = {SRTP_EGRESS_REFS(ADDRESS_OF)};
    const size_t nrefs = sizeof(refs) / sizeof(refs[0]);
    if (self->timeline != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "an SrtpEgress is initialised once");
        return -1;
    }
    const char *host;
    int port;
    unsigned long out_ssrc, origin;
    Py_buffer block = {0};
    self->timestamp_scale = self->clock_divisor = 1;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwds, "OOOOOLLO!O!OOOOO!OOsikiky*|LL:SrtpEgress", kwlist,
            &self->timeline, &self->base.source, &self->key, &self->delays_append,
            &self->base.target, &self->max_reorder, &self->max_jump,
            &PyDict_Type, &self->sender, &PyDict_Type, &self->dtls_tx, &self->tx_session, &tx_ctx,
            &protect, &self->connected, &PyDict_Type, &self->nominated, &self->pair, &self->sock,
            &host, &port, &out_ssrc, &self->out_payload_type, &origin, &block,
            &self->timestamp_scale, &self->clock_divisor)) {
        FORGET_REFS(refs, nrefs);
        return -1;
    }
    int ok = -1;
    if (block.len > (Py_ssize_t)sizeof(self->block)) {
        PyErr_SetString(PyExc_ValueError, "header extension block too long");
        goto done;
    }
    memcpy(self->block, block.buf, block.len);
    self->block_len = block.len;
    if ((self->tx_ctx = address_of(tx_ctx, "tx_ctx")) == NULL) goto done;
    if ((self->protect = (srtp_fn)address_of(protect, "protect")) == NULL) goto done;
    if (find_slots(self->timeline, "timeline must be a Timeline", timeline_field_names, TIMELINE_FIELD_COUNT,
                   self->field) < 0)
        goto done;
    self->timeline_type = Py_TYPE(self->timeline);
    if (!PyCallable_Check(self->delays_append)) {
        PyErr_SetString(PyExc_TypeError, "delays_append must be callable");
        goto done;
    }
    if (self->out_payload_type < 0 || self->out_payload_type > 127 || self->timestamp_scale < 1 ||
        self->clock_divisor < 1) {
        PyErr_SetString(PyExc_ValueError, "bad payload type, timestamp scale or clock divisor");
        goto done;
    }
    if (parse_address(host, port, &self->addr, &self->addrlen) < 0) goto done;
    self->out_ssrc = (uint32_t)out_ssrc;
    self->timestamp_origin = (uint32_t)origin;
    ARM_PART(self->base, &srtp_egress_ops, refs, nrefs);
    ok = 0;
done:
    PyBuffer_Release(&block);
    if (ok < 0)
        FORGET_REFS(refs, nrefs);
    return ok;
}

PART_TYPE(SrtpEgress, "A route's egress to an aiortc sender: the listening track's Timeline, SRTP (srtp_side.c).")

/* ==== module ================================================================================== */

int srtp_side_init(PyObject *module, PyObject *attribute_names) {
    SrtpIngressType.tp_base = &IngressType;
    SrtpEgressType.tp_base = &EgressType;
    if (PyType_Ready(&SrtpIngressType) < 0 || PyType_Ready(&SrtpEgressType) < 0) return -1;
#define INTERN(var, text) \
    if ((var = intern_name(text, attribute_names)) == NULL) return -1;
    ATTRIBUTES(INTERN)
#undef INTERN
    if ((k_one = PyLong_FromLong(1)) == NULL || (k_zero_float = PyFloat_FromDouble(0.0)) == NULL) return -1;
    PyObject *fields = PyTuple_New(TIMELINE_FIELD_COUNT);
    if (fields == NULL) return -1;
    for (int f = 0; f < TIMELINE_FIELD_COUNT; f++) {
        PyObject *text = intern_name(timeline_field_names[f], NULL);
        if (text == NULL) {
            Py_DECREF(fields);
            return -1;
        }
        PyTuple_SET_ITEM(fields, f, text);
    }
    if (PyModule_AddObject(module, "TIMELINE_FIELDS", fields) < 0) {
        Py_DECREF(fields);
        return -1;
    }
    Py_INCREF(&SrtpIngressType);
    Py_INCREF(&SrtpEgressType);
    if (PyModule_AddObject(module, "SrtpIngress", (PyObject *)&SrtpIngressType) < 0 ||
        PyModule_AddObject(module, "SrtpEgress", (PyObject *)&SrtpEgressType) < 0)
        return -1;
    return 0;
}
