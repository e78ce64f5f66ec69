/*
 * zorio_widget.media.native._fastrelay: the relay's steady state in native code (bench/RESULTS.md).
 *
 * Why: one relayed packet through the Python path (receive -> leg -> Bridge -> the listener's
 * outbound push -> send) costs ~75-100 us of CPU on a loaded server, above the per-call budgets
 * of issues #3 (browser calls) and #13 (trunk calls). Once a pair of legs relays plainly (same
 * SSRC and audio payload type, the listener parked on the relay, nothing else playing), every
 * packet does exactly the same work; a `Route` does that work here, in one C call from the
 * socket's read callback.
 *
 * A route is an ingress and an egress (relay.h), each of the kind of its leg:
 *   SrtpIngress -> SrtpEgress   browser <-> browser (Opus), or two browsers on G.711
 *   RtpIngress  -> SrtpEgress   trunk -> browser: plain RTP in, renumbered, SRTP protected, sent
 *   SrtpIngress -> RtpEgress    browser -> trunk: SRTP unprotected, renumbered, plain RTP sent
 *   RtpIngress  -> RtpEgress    a trunk leg's echo (*43)
 * (srtp_side.c: aiortc's legs; rtp_side.c: media/rtp's legs.)
 *
 * The rule that keeps this safe: a route never owns state. It reads and writes the very Python
 * objects the Python path uses, per packet, so the two paths are interchangeable packet by packet:
 * the listener's stream is ONE object (an OutboundAudio's Timeline, an RtpOutbound's StreamState),
 * a trunk leg's receive side another (its RtpSession's SessionState), all slots objects whose
 * field lists are exported (TIMELINE_FIELDS, SESSION_FIELDS, STREAM_FIELDS; tests check them
 * against the classes' __slots__); aiortc's own state (receiver statistics, RTCP and DTLS
 * counters) is read and written in the objects' __dict__s, under the names of ATTRIBUTE_NAMES
 * (aiortc_hook/inventory.py lists them). The receiving leg's `packet_tap` (the bridge's taps:
 * recording, voice activity) is called with each payload and its RTP timestamp, as the Python
 * path does, so a tapped call stays on this path.
 *
 * Before touching anything a route checks, on the cleartext header and on those objects, that the
 * Python path would do exactly this (each part's guards); if not, the datagram goes to the Python
 * path untouched (`Receive.fallback`, or the socket's protocol). What aiortc, aioice and asyncio
 * attributes it relies on is checked by aiortc_hook.verify_aiortc_internals().
 */
#include "relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>

static PyObject *k_fileno;

/* ---- helpers (relay.h) ------------------------------------------------------------------------ */

long long int_item(PyObject *d, PyObject *k, int *ok) {
    PyObject *v = PyDict_GetItemWithError(d, k);
    if (v == NULL || !PyLong_CheckExact(v)) { *ok = 0; return 0; }
    long long x = PyLong_AsLongLong(v);
    if (x == -1 && PyErr_Occurred()) { *ok = 0; return 0; }
    return x;
}

int set_ll(PyObject *d, PyObject *k, long long v) {
    PyObject *o = PyLong_FromLongLong(v);
    if (o == NULL) return -1;
    int r = PyDict_SetItem(d, k, o);
    Py_DECREF(o);
    return r;
}

int set_ull(PyObject *d, PyObject *k, unsigned long long v) {
    PyObject *o = PyLong_FromUnsignedLongLong(v);
    if (o == NULL) return -1;
    int r = PyDict_SetItem(d, k, o);
    Py_DECREF(o);
    return r;
}

int add_to(PyObject *d, PyObject *k, long long delta) {
    int ok = 1;
    long long x = int_item(d, k, &ok);
    if (!ok) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_KeyError, "%R missing or not an int", k);
        return -1;
    }
    return set_ll(d, k, x + delta);
}

/* Every field must be a plain, writable object slot of the object's type, set, and the type must
 * use the generic attribute access, so that a Python reader of the object sees what was written. */
int find_slots(PyObject *object, const char *what, const char *const names[], int count, Py_ssize_t offsets[]) {
    PyTypeObject *type = Py_TYPE(object);
    if (type->tp_getattro != PyObject_GenericGetAttr || type->tp_setattro != PyObject_GenericSetAttr) {
        PyErr_Format(PyExc_TypeError, "%s (plain attribute access)", what);
        return -1;
    }
    for (int f = 0; f < count; f++) {
        PyObject *descr = PyObject_GetAttrString((PyObject *)type, names[f]);
        if (descr == NULL) PyErr_Clear();
        int slot = descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
                   ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX &&
                   !(((PyMemberDescrObject *)descr)->d_member->flags & READONLY);
        if (slot) offsets[f] = ((PyMemberDescrObject *)descr)->d_member->offset;
        Py_XDECREF(descr);
        if (!slot || *slot_at(object, offsets[f]) == NULL) {
            PyErr_Format(PyExc_TypeError, "%s (%s is not a set slot)", what, names[f]);
            return -1;
        }
    }
    return 0;
}

long long int_slot(PyObject *object, Py_ssize_t offset, int *ok) {
    PyObject *v = *slot_at(object, offset);
    if (v == NULL || !PyLong_CheckExact(v)) { *ok = 0; return 0; }
    long long x = PyLong_AsLongLong(v);
    if (x == -1 && PyErr_Occurred()) { *ok = 0; return 0; }
    return x;
}

void set_slot(PyObject *object, Py_ssize_t offset, PyObject *value /* stolen */) {
    PyObject **slot = slot_at(object, offset);
    PyObject *old = *slot;
    *slot = value;
    Py_XDECREF(old);
}

int set_slot_ll(PyObject *object, Py_ssize_t offset, long long v) {
    PyObject *o = PyLong_FromLongLong(v);
    if (o == NULL) return -1;
    set_slot(object, offset, o);
    return 0;
}

int set_slot_double(PyObject *object, Py_ssize_t offset, double v) {
    PyObject *o = PyFloat_FromDouble(v);
    if (o == NULL) return -1;
    set_slot(object, offset, o);
    return 0;
}

int add_to_slot(PyObject *object, Py_ssize_t offset, long long delta, const char *name) {
    int ok = 1;
    long long x = int_slot(object, offset, &ok);
    if (!ok) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "%s is not an int", name);
        return -1;
    }
    return set_slot_ll(object, offset, x + delta);
}

void *address_of(PyObject *value, const char *what) {
    unsigned long long a = PyLong_AsUnsignedLongLong(value);
    if (a == (unsigned long long)-1 && PyErr_Occurred()) return NULL;
    if (a == 0) {
        PyErr_Format(PyExc_ValueError, "%s is a null pointer", what);
        return NULL;
    }
    return (void *)(uintptr_t)a;
}

int parse_address(const char *host, int port, struct sockaddr_storage *addr, socklen_t *addrlen) {
    if (port <= 0 || port > 65535) {
        PyErr_Format(PyExc_ValueError, "bad port %d", port);
        return -1;
    }
    memset(addr, 0, sizeof(*addr));
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *addrlen = sizeof(*v4);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *addrlen = sizeof(*v6);
    } else {
        PyErr_Format(PyExc_ValueError, "remote host %s is not a numeric address", host);
        return -1;
    }
    return 0;
}

/* The same host and port (what RtpSession compares: the address tuple's first two items). */
int same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
    if (a->ss_family != b->ss_family) return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)b;
        return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return 0;
}

int socket_fd(PyObject *sock) {
    PyObject *fileno = PyObject_CallMethodNoArgs(sock, k_fileno);
    if (fileno == NULL) {
        PyErr_Clear();
        return -1;
    }
    long fd = PyLong_AsLong(fileno);
    Py_DECREF(fileno);
    if (fd == -1 && PyErr_Occurred()) PyErr_Clear();
    return fd < 0 || fd > INT32_MAX ? -1 : (int)fd;
}

PyObject *intern_name(const char *text, PyObject *names) {
    PyObject *name = PyUnicode_InternFromString(text);
    if (name != NULL && names != NULL && PyList_Append(names, name) < 0) Py_CLEAR(name);
    return name;
}

/* ---- Ingress, Egress: the base types of the parts (what Route sees of them) -------------------- */

/* Getters of `armed`, and of an object field: the object while armed, else None. */
#define ARMED_GETTER(Type)                                                           \
    static PyObject *Type##_get_armed(Type *self, void *Py_UNUSED(closure)) {        \
        return PyBool_FromLong(self->armed);                                         \
    }
#define OBJECT_GETTER(Type, field)                                                   \
    static PyObject *Type##_get_##field(Type *self, void *Py_UNUSED(closure)) {      \
        PyObject *v = self->armed && self->field ? (PyObject *)self->field : Py_None; \
        Py_INCREF(v);                                                                \
        return v;                                                                    \
    }

/* An abstract base type of the parts: its getters, an _init that refuses. */
#define BASE_TYPE(T, doc_text, refusal)                                               \
    static int T##_init(PyObject *self, PyObject *args, PyObject *kwds) {             \
        PyErr_SetString(PyExc_TypeError, refusal);                                    \
        return -1;                                                                    \
    }                                                                                 \
    PyTypeObject T##Type = {                                                          \
        PyVarObject_HEAD_INIT(NULL, 0)                                                \
        .tp_name = "zorio_widget.media.native._fastrelay." #T,                        \
        .tp_basicsize = sizeof(T),                                                    \
        .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,                         \
        .tp_doc = doc_text,                                                           \
        .tp_new = PyType_GenericNew,                                                  \
        .tp_init = T##_init,                                                          \
        .tp_getset = T##_getset,                                                      \
    };

ARMED_GETTER(Ingress)
OBJECT_GETTER(Ingress, tap)
static PyObject *Ingress_get_ssrc(Ingress *self, void *Py_UNUSED(closure)) { return PyLong_FromUnsignedLong(self->ssrc); }

static PyGetSetDef Ingress_getset[] = {
    {"armed", (getter)Ingress_get_armed, NULL, "Whether it was initialised and not cleared.", NULL},
    {"ssrc", (getter)Ingress_get_ssrc, NULL, "The remote SSRC it takes.", NULL},
    {"tap", (getter)Ingress_get_tap, NULL, "The leg's packet tap it was armed with (None: no tap).", NULL},
    {NULL}};

BASE_TYPE(Ingress, "Where a route's packets come from (SrtpIngress, RtpIngress).",
          "Ingress is abstract: use SrtpIngress or RtpIngress")

ARMED_GETTER(Egress)
OBJECT_GETTER(Egress, source)
OBJECT_GETTER(Egress, target)

static PyGetSetDef Egress_getset[] = {
    {"armed", (getter)Egress_get_armed, NULL, "Whether it was initialised and not cleared.", NULL},
    {"source", (getter)Egress_get_source, NULL, "The listener's Source it was armed for.", NULL},
    {"target", (getter)Egress_get_target, NULL, "What it writes: a DirectSend, or an RtpOutbound's StreamState.", NULL},
    {NULL}};

BASE_TYPE(Egress, "The listener's stream a route's packets go out on (SrtpEgress, RtpEgress).",
          "Egress is abstract: use SrtpEgress or RtpEgress")

/* ---- Route: one ingress to one egress ---------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    Ingress *ingress;
    Egress *egress;
    int armed;
} Route;

static int Route_init(Route *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"ingress", "egress", NULL};
    PyObject *ingress, *egress;
    if (self->ingress != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a Route is initialised once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!:Route", kwlist, &IngressType, &ingress, &EgressType, &egress))
        return -1;
    Ingress *in = (Ingress *)ingress;
    Egress *out = (Egress *)egress;
    if (!in->armed || in->ops == NULL || !out->armed || out->ops == NULL) {
        PyErr_SetString(PyExc_ValueError, "a route needs an armed ingress and egress");
        return -1;
    }
    Py_INCREF(ingress);
    Py_INCREF(egress);
    self->ingress = in;
    self->egress = out;
    self->armed = 1;
    return 0;
}

static int Route_traverse(Route *self, visitproc visit, void *arg) {
    Py_VISIT(self->ingress);
    Py_VISIT(self->egress);
    return 0;
}

static int Route_clear(Route *self) {
    self->armed = 0;
    Py_CLEAR(self->ingress);
    Py_CLEAR(self->egress);
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

static PyObject *route_part(Route *self, PyObject *part, const char *name) {
    if (!self->armed || part == NULL) Py_RETURN_NONE;
    return PyObject_GetAttrString(part, name);
}

ARMED_GETTER(Route)
OBJECT_GETTER(Route, ingress)
OBJECT_GETTER(Route, egress)
static PyObject *Route_get_ssrc(Route *self, void *Py_UNUSED(c)) {
    return route_part(self, (PyObject *)self->ingress, "ssrc");
}
static PyObject *Route_get_tap(Route *self, void *Py_UNUSED(c)) {
    return route_part(self, (PyObject *)self->ingress, "tap");
}
static PyObject *Route_get_source(Route *self, void *Py_UNUSED(c)) {
    return route_part(self, (PyObject *)self->egress, "source");
}
static PyObject *Route_get_target(Route *self, void *Py_UNUSED(c)) {
    return route_part(self, (PyObject *)self->egress, "target");
}

static PyMethodDef Route_methods[] = {
    {"disarm", (PyCFunction)Route_disarm, METH_NOARGS, "Never relay again; drop all references."},
    {NULL}};

static PyGetSetDef Route_getset[] = {
    {"armed", (getter)Route_get_armed, NULL, "Whether the route may still relay.", NULL},
    {"ssrc", (getter)Route_get_ssrc, NULL, "The remote SSRC it relays (None once disarmed).", NULL},
    {"tap", (getter)Route_get_tap, NULL, "The leg's packet tap it was armed with (None: no tap).", NULL},
    {"source", (getter)Route_get_source, NULL, "The listener's Source it was armed for.", NULL},
    {"target", (getter)Route_get_target, NULL, "What it writes: a DirectSend or a StreamState (None once disarmed).", NULL},
    {"ingress", (getter)Route_get_ingress, NULL, "Its ingress (None once disarmed).", NULL},
    {"egress", (getter)Route_get_egress, NULL, "Its egress (None once disarmed).", NULL},
    {NULL}};

static PyTypeObject RouteType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "zorio_widget.media.native._fastrelay.Route",
    .tp_basicsize = sizeof(Route),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "One plain relay: an ingress (a leg's SSRC) to an egress (a listener's stream); see the module comment.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Route_init,
    .tp_dealloc = (destructor)Route_dealloc,
    .tp_traverse = (traverseproc)Route_traverse,
    .tp_clear = (inquiry)Route_clear,
    .tp_methods = Route_methods,
    .tp_getset = Route_getset,
};

/* ---- the relay itself ------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *fallback;       /* the Python path: fallback(data, component); None: a route holder only */
    PyObject *route;          /* Route or None */
    unsigned long long relayed;
    unsigned long long fallbacks;
    unsigned long long dropped;
    unsigned long long send_errors;
    vectorcallfunc vectorcall;
} Receive;

static enum outcome relay(Ingress *in, Egress *out, Datagram *d, Receive *rx) {
    if (!in->ops->guards(in, d) || !out->ops->guards(out, d)) {
        if (PyErr_Occurred()) PyErr_Clear();
        return FALLBACK;
    }
    /* From here on, this packet is ours: the Python path is never given it. */
    struct timespec mono, real;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    d->now = (double)mono.tv_sec + (double)mono.tv_nsec * 1e-9;
    d->realtime_ns = (long long)real.tv_sec * 1000000000LL + real.tv_nsec;
    enum outcome taken = in->ops->take(in, d);
    if (taken != RELAYED) return taken;
    /* the leg's taps (Bridge._on_packet: recording, voice activity), before the relay; a tap that
     * raises costs its own packet, never the relay's (the bridge's _Taps already logs its taps' errors) */
    if (in->tap != Py_None) {
        PyObject *tapped = PyObject_CallFunction(in->tap, "y#K", (const char *)d->payload, d->payload_len,
                                                 (unsigned long long)d->ts);
        if (tapped == NULL) PyErr_WriteUnraisable(in->tap);
        Py_XDECREF(tapped);
        if (!in->armed || !out->armed) return DROPPED;  /* the tap disarmed the route: taken, not sent */
    }
    return out->ops->send(out, d, &rx->send_errors);
}

static enum outcome Route_relay(Route *r, Receive *rx, const unsigned char *data, Py_ssize_t len,
                                const struct sockaddr_storage *from) {
    if (!r->armed || len < 12 || len > MAX_PACKET) return FALLBACK;
    if ((data[0] & 0xC0) != 0x80 || (data[1] >= 192 && data[1] <= 208)) return FALLBACK;  /* RTCP */
    Ingress *in = r->ingress;
    Egress *out = r->egress;
    if (!in->armed || !out->armed) return FALLBACK;
    if (be32(data + 8) != in->ssrc || (data[1] & 0x7F) != in->payload_type) return FALLBACK;
    Datagram d;
    d.data = data;
    d.len = len;
    d.from = from;
    d.seq = be16(data + 2);
    d.ts = be32(data + 4);
    d.payload = NULL;
    d.payload_len = 0;
    /* Python code runs inside (sockets' fileno(), aiortc's current_datetime(), the tap): nothing it
     * does may free the parts under our feet */
    Py_INCREF(in);
    Py_INCREF(out);
    enum outcome result = relay(in, out, &d, rx);
    Py_DECREF(in);
    Py_DECREF(out);
    return result;
}

/* ---- Receive: the aioice connection's data_received (or an RTP socket's route holder) --------- */

/* Whether rx's route took this datagram (relayed it, or dropped it as the Python path would),
 * counting which. The route is held meanwhile (see Route_relay). */
static int relayed_natively(Receive *rx, const unsigned char *data, Py_ssize_t len, const struct sockaddr_storage *from) {
    PyObject *route = rx->route;
    if (route == Py_None) return 0;
    Py_INCREF(route);
    enum outcome result = Route_relay((Route *)route, rx, data, len, from);
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
    if (self->fallback == Py_None) {
        PyErr_SetString(PyExc_TypeError, "this Receive only holds a route (its socket's Reader feeds it)");
        return NULL;
    }
    PyObject *data = args[0];
    if (PyBytes_CheckExact(data) &&
        relayed_natively(self, (const unsigned char *)PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), NULL))
        Py_RETURN_NONE;
    self->fallbacks++;
    return PyObject_Vectorcall(self->fallback, args, 2, NULL);
}

static PyObject *Receive_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *fallback;
    static char *kwlist[] = {"fallback", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:Receive", kwlist, &fallback)) return NULL;
    if (fallback != Py_None && !PyCallable_Check(fallback)) {
        PyErr_SetString(PyExc_TypeError, "fallback must be callable (or None: a route holder)");
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
    {"fallback", T_OBJECT, offsetof(Receive, fallback), READONLY, "The Python path (None: a route holder)."},
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
    .tp_doc = "An aioice connection's data_received (the route's packets here, the rest to fallback), "
              "or, with fallback None, the route holder of an RTP socket's Reader.",
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
 * tuple and calls the protocol's datagram_received (for aioice, StunProtocol's, which calls the
 * connection's data_received): Python frames and two allocations per packet before a Route sees
 * it. A Reader is registered with the event loop for the socket instead (loop._add_reader): it
 * reads into one static buffer and gives the route's packets to the route directly, with their
 * source address; everything else becomes exactly the (bytes, address) asyncio would have passed
 * to the protocol. `counts_fallbacks`: the protocol does not reach the Receive (an RTP socket's),
 * so the Reader counts what it hands to it.
 */

#define READS_PER_WAKEUP 8

typedef struct {
    PyObject_HEAD
    int fd;
    int counts_fallbacks;
    PyObject *receive;   /* the Receive holding the route */
    PyObject *protocol;  /* the protocol asyncio would call */
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
            PyErr_SetFromErrno(PyExc_OSError);
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
        if (relayed_natively(rx, read_buffer, n, &addr)) continue;
        /* counted as a fallback by the Receive it reaches through the protocol, if it does */
        if (self->counts_fallbacks) rx->fallbacks++;
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
    static char *kwlist[] = {"fd", "receive", "protocol", "transport", "counts_fallbacks", NULL};
    int fd, counts_fallbacks = 0;
    PyObject *receive, *protocol, *transport;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iO!OO|p:Reader", kwlist, &fd, &ReceiveType, &receive, &protocol,
                                     &transport, &counts_fallbacks))
        return NULL;
    if (fd < 0) {
        PyErr_SetString(PyExc_ValueError, "fd must be an open socket");
        return NULL;
    }
    Reader *self = (Reader *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->fd = fd;
    self->counts_fallbacks = counts_fallbacks;
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
    {"receive", T_OBJECT, offsetof(Reader, receive), READONLY, "The Receive holding the route."},
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
    if (PyType_Ready(&IngressType) < 0 || PyType_Ready(&EgressType) < 0 || PyType_Ready(&RouteType) < 0 ||
        PyType_Ready(&ReceiveType) < 0 || PyType_Ready(&ReaderType) < 0)
        return NULL;
    if ((k_datagram_received = PyUnicode_InternFromString("datagram_received")) == NULL ||
        (k_error_received = PyUnicode_InternFromString("error_received")) == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&fastrelay_module);
    if (m == NULL) return NULL;
    PyObject *list = PyList_New(0);
    if (list == NULL) goto failed;
    if (srtp_side_init(m, list) < 0 || (k_fileno = intern_name("fileno", list)) == NULL || rtp_side_init(m) < 0) {
        Py_DECREF(list);
        goto failed;
    }
    PyObject *names = PyList_AsTuple(list);
    Py_DECREF(list);
    if (names == NULL || PyModule_AddObject(m, "ATTRIBUTE_NAMES", names) < 0) {
        Py_XDECREF(names);
        goto failed;
    }
    Py_INCREF(&IngressType);
    Py_INCREF(&EgressType);
    Py_INCREF(&RouteType);
    Py_INCREF(&ReceiveType);
    Py_INCREF(&ReaderType);
    if (PyModule_AddObject(m, "Ingress", (PyObject *)&IngressType) < 0 ||
        PyModule_AddObject(m, "Egress", (PyObject *)&EgressType) < 0 ||
        PyModule_AddObject(m, "Route", (PyObject *)&RouteType) < 0 ||
        PyModule_AddObject(m, "Reader", (PyObject *)&ReaderType) < 0 ||
        PyModule_AddObject(m, "Receive", (PyObject *)&ReceiveType) < 0 ||
        PyModule_AddIntConstant(m, "ACTIVE_SSRC_REFRESH_MS", ACTIVE_SSRC_REFRESH_MS) < 0 ||
        PyModule_AddIntConstant(m, "MAX_PACKET", MAX_PACKET) < 0)
        goto failed;
    return m;
failed:
    Py_DECREF(m);
    return NULL;
}
