/*
 * relay.h: what the parts of the native relay share (the contract is in _fastrelay.c's comment).
 *
 * A Route is one ingress (where a leg's packets come from) and one egress (the listener's stream
 * they go out on); either side is one of two kinds:
 * - aiortc legs (srtp_side.c): SrtpIngress unprotects what an RTCRtpReceiver would receive,
 *   SrtpEgress renumbers on the listener's Timeline and protects for its RTCRtpSender;
 * - trunk legs (rtp_side.c): RtpIngress reads what an RtpSession would receive (plain RTP from
 *   the latched far end), RtpEgress renumbers on the RtpOutbound's stream and sends plain RTP.
 * Each part checks that the Python path would do exactly what the route does (its guards, which
 * also read what it needs) before anything is written; then the ingress takes the packet (its
 * bookkeeping, the payload), the receiving leg's tap sees it, and the egress sends it.
 */
#ifndef ZORIO_FASTRELAY_RELAY_H
#define ZORIO_FASTRELAY_RELAY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#define NTP_EPOCH_OFFSET_S 2208988800ULL
#define ACTIVE_SSRC_REFRESH_MS 500
#define MAX_PACKET 1500
#define SRTP_MAX_TRAILER_LEN (16 + 128)
/* header (12 + a block of at most 64 bytes) + payload (< MAX_PACKET) + SRTP trailer */
#define MAX_OUT_PACKET (12 + 64 + MAX_PACKET + SRTP_MAX_TRAILER_LEN)

enum outcome { RELAYED, FALLBACK, DROPPED, FAILED };

/* One datagram on its way through a route. */
typedef struct {
    const unsigned char *data;                /* as received */
    Py_ssize_t len;
    const struct sockaddr_storage *from;      /* its source; NULL where the caller does not know it */
    uint16_t seq;                             /* from the (cleartext) RTP header */
    uint32_t ts;
    const unsigned char *payload;             /* set by the ingress's take */
    Py_ssize_t payload_len;
    double now;                               /* CLOCK_MONOTONIC (the event loop's time), s */
    long long realtime_ns;                    /* CLOCK_REALTIME */
    unsigned char buffer[MAX_PACKET + SRTP_MAX_TRAILER_LEN];  /* where an ingress may unprotect */
} Datagram;

/* ---- the two sides of a route ------------------------------------------------------------ */

typedef struct Ingress Ingress;
typedef struct {
    /* 1 if the Python path would take this datagram exactly as the route does (and what the
     * take needs is read); 0: Python's (an error may be set, the caller clears it) */
    int (*guards)(Ingress *self, Datagram *d);
    /* commit: the receiving side's bookkeeping, d->payload set (RELAYED), or DROPPED / FAILED */
    enum outcome (*take)(Ingress *self, Datagram *d);
} IngressOps;

struct Ingress {
    PyObject_HEAD
    const IngressOps *ops;
    uint32_t ssrc;          /* the remote SSRC it takes */
    int payload_type;       /* the audio payload type it takes */
    PyObject *tap;          /* the leg's packet tap it was armed with (Py_None: none) */
    int armed;
};

typedef struct Egress Egress;
typedef struct {
    /* 1 if the Python path would send d on this stream exactly as the route does (what the send
     * needs is read into the egress meanwhile) */
    int (*guards)(Egress *self, Datagram *d);
    /* commit: the stream's bookkeeping and the packet on the wire; RELAYED, DROPPED or FAILED */
    enum outcome (*send)(Egress *self, Datagram *d, unsigned long long *send_errors);
} EgressOps;

struct Egress {
    PyObject_HEAD
    const EgressOps *ops;
    PyObject *source;       /* the listener's Source it was armed for (identity guard) */
    PyObject *target;       /* what it writes: a DirectSend, or an RtpOutbound's StreamState */
    int armed;
};

extern PyTypeObject IngressType, EgressType;

/* ---- helpers (_fastrelay.c) ---------------------------------------------------------------- */

static inline uint16_t be16(const unsigned char *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t be32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void put16(unsigned char *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xFF; }
static inline void put32(unsigned char *p, uint32_t v) {
    p[0] = v >> 24; p[1] = (v >> 16) & 0xFF; p[2] = (v >> 8) & 0xFF; p[3] = v & 0xFF;
}
static inline long long signed32(long long delta) {
    delta &= 0xFFFFFFFFLL;
    return (delta & 0x80000000LL) ? delta - (1LL << 32) : delta;
}
static inline int is_empty(PyObject *v) { return v != NULL && PyObject_Length(v) == 0; }

/* dict items (the aiortc objects' __dict__s) */
long long int_item(PyObject *d, PyObject *k, int *ok);
int set_ll(PyObject *d, PyObject *k, long long v);
int set_ull(PyObject *d, PyObject *k, unsigned long long v);
int add_to(PyObject *d, PyObject *k, long long delta);

/* Slots of a slots object (Timeline, SessionState, StreamState), in place: found once per part
 * from the member descriptors `__slots__` created (find_slots). Reading and writing a slot is
 * exactly what those descriptors do for a T_OBJECT_EX member, without the attribute lookup. */
int find_slots(PyObject *object, const char *what, const char *const names[], int count, Py_ssize_t offsets[]);
static inline PyObject **slot_at(PyObject *object, Py_ssize_t offset) {
    return (PyObject **)((char *)object + offset);
}
long long int_slot(PyObject *object, Py_ssize_t offset, int *ok);
void set_slot(PyObject *object, Py_ssize_t offset, PyObject *value /* stolen */);
int set_slot_ll(PyObject *object, Py_ssize_t offset, long long v);
int set_slot_double(PyObject *object, Py_ssize_t offset, double v);
int add_to_slot(PyObject *object, Py_ssize_t offset, long long delta, const char *name);

void *address_of(PyObject *value, const char *what);
int parse_address(const char *host, int port, struct sockaddr_storage *addr, socklen_t *addrlen);
int same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* the fd of a socket object (fileno(): -1 once closed); -1 on any failure (error cleared) */
int socket_fd(PyObject *sock);
PyObject *intern_name(const char *text, PyObject *names /* list, or NULL */);

/* ---- the parts' types, added to the module by each side --------------------------------------- */

int srtp_side_init(PyObject *module, PyObject *attribute_names);
int rtp_side_init(PyObject *module);

/* Every object a part holds a reference to: traverse, clear and dealloc from one list. */
#define PART_VISIT(field) Py_VISIT(self->field);
#define PART_CLEAR(field) Py_CLEAR(self->field);
#define PART_GC(Type, REFS, base_clear)                                               \
    static int Type##_traverse(Type *self, visitproc visit, void *arg) {              \
        REFS(PART_VISIT) return 0;                                                    \
    }                                                                                 \
    static int Type##_clear(Type *self) {                                             \
        base_clear;                                                                   \
        REFS(PART_CLEAR) return 0;                                                    \
    }                                                                                 \
    static void Type##_dealloc(Type *self) {                                          \
        PyObject_GC_UnTrack(self);                                                    \
        Type##_clear(self);                                                           \
        Py_TYPE(self)->tp_free((PyObject *)self);                                     \
    }

/* A part's type: GC, generic new, its _init, its PART_GC functions. */
#define PART_TYPE(T, doc_text)                                                        \
    static PyTypeObject T##Type = {                                                   \
        PyVarObject_HEAD_INIT(NULL, 0)                                                \
        .tp_name = "zorio_widget.media.native._fastrelay." #T,                        \
        .tp_basicsize = sizeof(T),                                                    \
        .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,                          \
        .tp_doc = doc_text,                                                           \
        .tp_new = PyType_GenericNew,                                                  \
        .tp_init = (initproc)T##_init,                                                \
        .tp_dealloc = (destructor)T##_dealloc,                                        \
        .tp_traverse = (traverseproc)T##_traverse,                                    \
        .tp_clear = (inquiry)T##_clear,                                               \
    };

/* In a part's _init: once every borrowed reference was parsed and checked, own them; on failure
 * forget them (borrowed: never released). */
#define ADOPT_REFS(refs, n) for (size_t i_ = 0; i_ < (n); i_++) Py_INCREF(*(refs)[i_])
#define FORGET_REFS(refs, n) for (size_t i_ = 0; i_ < (n); i_++) *(refs)[i_] = NULL
/* The end of a part's successful _init: its operations, its references owned, armed. */
#define ARM_PART(base, ops_table, refs, n)                                            \
    do {                                                                              \
        (base).ops = (ops_table);                                                     \
        ADOPT_REFS(refs, n);                                                          \
        (base).armed = 1;                                                             \
    } while (0)

#endif
