/*
 * spanstream.producer._produce: the Kafka sender's produce loop in C (optional accelerator).
 *
 * KafkaSender._send (producer/_kafka_sender.py) encodes each item, takes its key, checks its
 * size and calls confluent-kafka's Producer.produce(), which parses its arguments and turns the
 * header list into librdkafka headers on every call, all under the interpreter lock. This
 * module does the plain case of that loop: for a run of items it calls the encoder and the key
 * function (and the user's limit check, if any) with the lock held, then, with the lock
 * RELEASED, hands each record to librdkafka itself (rd_kafka_producev on the producer's own
 * rd_kafka_t, the headers copied from one list built once), so the application's threads run
 * Python meanwhile. It stops at the first item that is anything else: an encoder or key
 * function that raises or returns something unexpected, a record over the size limit, a limit
 * check that says too large or raises, or a record librdkafka refuses (its queue full, or any
 * error). The Python loop then handles that one item exactly as it always does (drops,
 * backpressure, error counting) and calls back here for the rest. So the C loop never has a
 * side effect on an item it does not produce, and the Python loop stays the reference.
 *
 * Delivery failures are reported as for produce(): each record carries confluent-kafka's own
 * per-message state (its struct Producer_msgstate: the Producer and the delivery callback), so
 * Producer.poll() serves its report and frees it.
 *
 * What this relies on, beyond librdkafka's public ABI (declared below, no rdkafka.h needed):
 * confluent-kafka's Handle begins with its rd_kafka_t pointer, and its per-message state is
 * {Handle *, PyObject *dr_cb} (Producer.c). spanstream.producer._fast_produce checks the
 * confluent-kafka version before creating a RecordProducer, finds the librdkafka that
 * confluent-kafka loaded, and the constructor checks the handle's client name.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* librdkafka's ABI (rdkafka.h): opaque types, rd_kafka_vtype_t values, flags. */
typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_headers_s rd_kafka_headers_t;
typedef int rd_kafka_resp_err_t;
enum {
    VTYPE_END = 0,
    VTYPE_TOPIC = 1,
    VTYPE_VALUE = 4,
    VTYPE_KEY = 5,
    VTYPE_OPAQUE = 6,
    VTYPE_MSGFLAGS = 7,
    VTYPE_HEADERS = 10,
};
#define MSG_F_COPY 0x2

typedef rd_kafka_resp_err_t (*producev_fn)(rd_kafka_t *, ...);
typedef rd_kafka_headers_t *(*headers_new_fn)(size_t);
typedef rd_kafka_resp_err_t (*header_add_fn)(rd_kafka_headers_t *, const char *, ssize_t,
                                             const void *, ssize_t);
typedef rd_kafka_headers_t *(*headers_copy_fn)(const rd_kafka_headers_t *);
typedef void (*headers_destroy_fn)(rd_kafka_headers_t *);
typedef const char *(*name_fn)(const rd_kafka_t *);

/* confluent-kafka's layouts (see the module comment). */
typedef struct {
    PyObject_HEAD
    rd_kafka_t *rk;
} HandleHead;

struct msgstate {
    PyObject *self;
    PyObject *dr_cb;
};

/* Items encoded per run with the lock held, then produced without it: a sender's whole batch
 * (KafkaSender takes at most 2048 items a round), so that the lock changes hands once per batch
 * as with the Python loop (each time the sender asks for it back while the application runs
 * Python, it waits up to the interpreter's switch interval, 5 ms). A run also ends after
 * RUN_MAX_BYTES of values, so that a run of large records (trees, ~5 KB) holds the lock about
 * as long as the switch interval, not longer. */
#define RUN_MAX_ITEMS 2048
#define RUN_MAX_BYTES (2 * 1024 * 1024)

/* When librdkafka refuses a record (its queue full: the broker is behind), the records encoded
 * after it in the run are thrown away, to be encoded again later. So after a refusal a run is
 * only as long as what librdkafka took last time (at least 1), and it doubles after each run
 * taken whole. */

/* The lock is released only for runs of at least this many records: giving it up costs the
 * sender up to a switch interval to get it back while the application runs Python, far more
 * than librdkafka takes for a few records. */
#define RELEASE_MIN_ITEMS 64

/* Whether librdkafka is called with the lock released (benchmarks compare both ways). */
static int release_lock = 1;

typedef struct {
    PyObject_HEAD
    PyObject *producer;
    PyObject *on_delivery;
    rd_kafka_t *rk;
    char *topic;
    rd_kafka_headers_t *headers;
    void *library;
    producev_fn producev;
    headers_copy_fn headers_copy;
    headers_destroy_fn headers_destroy;
    Py_ssize_t runs;
    Py_ssize_t produced;
    Py_ssize_t run_limit; /* see RUN_MAX_ITEMS */
} RecordProducer;

static void *
symbol(void *library, const char *name)
{
    void *found = dlsym(library, name);
    if (found == NULL) {
        PyErr_Format(PyExc_OSError, "librdkafka has no symbol %s", name);
    }
    return found;
}

static int
RecordProducer_init(RecordProducer *self, PyObject *args, PyObject *kwargs)
{
    static char *kws[] = {"producer", "library_path", "client_id", "topic", "headers",
                          "on_delivery", NULL};
    PyObject *producer, *headers, *on_delivery;
    const char *library_path, *client_id, *topic;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OsssO!O:RecordProducer", kws, &producer,
                                     &library_path, &client_id, &topic, &PyList_Type, &headers,
                                     &on_delivery)) {
        return -1;
    }
    if (self->producer != NULL) {
        PyErr_SetString(PyExc_TypeError, "a RecordProducer is initialised once");
        return -1;
    }
    if (!PyCallable_Check(on_delivery)) {
        PyErr_SetString(PyExc_TypeError, "on_delivery must be callable");
        return -1;
    }
    /* The librdkafka confluent-kafka loaded: RTLD_NOLOAD opens nothing new. */
    void *library = dlopen(library_path, RTLD_NOW | RTLD_NOLOAD);
    if (library == NULL) {
        PyErr_Format(PyExc_OSError, "librdkafka is not loaded from %s", library_path);
        return -1;
    }
    name_fn name = (name_fn)symbol(library, "rd_kafka_name");
    headers_new_fn headers_new = (headers_new_fn)symbol(library, "rd_kafka_headers_new");
    header_add_fn header_add = (header_add_fn)symbol(library, "rd_kafka_header_add");
    self->producev = (producev_fn)symbol(library, "rd_kafka_producev");
    self->headers_copy = (headers_copy_fn)symbol(library, "rd_kafka_headers_copy");
    self->headers_destroy = (headers_destroy_fn)symbol(library, "rd_kafka_headers_destroy");
    if (!name || !headers_new || !header_add || !self->producev || !self->headers_copy ||
        !self->headers_destroy) {
        dlclose(library);
        return -1;
    }
    self->library = library;
    rd_kafka_t *rk = ((HandleHead *)producer)->rk;
    const char *rk_name = rk != NULL ? name(rk) : NULL;
    size_t id_len = strlen(client_id);
    if (rk_name == NULL || strncmp(rk_name, client_id, id_len) != 0 ||
        strncmp(rk_name + id_len, "#producer-", 10) != 0) {
        PyErr_SetString(PyExc_ValueError, "the producer's handle is not the expected one");
        return -1;
    }
    self->rk = rk;
    self->topic = strdup(topic);
    if (self->topic == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t count = PyList_GET_SIZE(headers);
    if (count > 0) {
        self->headers = headers_new((size_t)count);
        for (Py_ssize_t i = 0; i < count; i++) {
            PyObject *pair = PyList_GET_ITEM(headers, i);
            const char *header_name;
            const char *value;
            Py_ssize_t value_len;
            if (!PyArg_ParseTuple(pair, "sy#:header", &header_name, &value, &value_len)) {
                return -1;
            }
            if (header_add(self->headers, header_name, -1, value, value_len) != 0) {
                PyErr_SetString(PyExc_ValueError, "librdkafka refused a header");
                return -1;
            }
        }
    }
    self->run_limit = RUN_MAX_ITEMS;
    Py_INCREF(producer);
    self->producer = producer;
    Py_INCREF(on_delivery);
    self->on_delivery = on_delivery;
    return 0;
}

static void
RecordProducer_dealloc(RecordProducer *self)
{
    if (self->headers != NULL) {
        self->headers_destroy(self->headers);
    }
    free(self->topic);
    Py_XDECREF(self->on_delivery);
    Py_XDECREF(self->producer);
    if (self->library != NULL) {
        dlclose(self->library);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* One record of a run: what the encoder and key function gave, and confluent-kafka's state. */
typedef struct {
    PyObject *value;
    PyObject *key; /* NULL: no key */
    struct msgstate *state;
} Record;

/* Encode items[start:] with the lock held until the run is full or an item needs Python;
 * returns how many records were prepared; *refer_next is set when the item after them needs
 * the Python loop. */
static Py_ssize_t
prepare_run(RecordProducer *self, PyObject *items, Py_ssize_t start, PyObject *encode,
            PyObject *key_of, PyObject *too_large, Py_ssize_t max_bytes, Py_ssize_t fixed_bytes,
            Record *run, int *refer_next)
{
    Py_ssize_t end = PyList_GET_SIZE(items);
    Py_ssize_t count = 0;
    Py_ssize_t run_bytes = 0;
    Py_ssize_t limit = self->run_limit;
    for (Py_ssize_t i = start; i < end && count < limit && run_bytes < RUN_MAX_BYTES; i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        PyObject *value = PyObject_Vectorcall(encode, &item, 1, NULL);
        if (value == NULL || !PyBytes_CheckExact(value)) {
            Py_XDECREF(value);
            PyErr_Clear();
            *refer_next = 1;
            break;
        }
        PyObject *key = PyObject_Vectorcall(key_of, &item, 1, NULL);
        if (key == NULL || (key != Py_None && !PyBytes_CheckExact(key))) {
            Py_DECREF(value);
            Py_XDECREF(key);
            PyErr_Clear();
            *refer_next = 1;
            break;
        }
        if (key == Py_None) {
            Py_DECREF(key);
            key = NULL;
        }
        Py_ssize_t size = PyBytes_GET_SIZE(value) + (key ? PyBytes_GET_SIZE(key) : 0);
        int refer = size + fixed_bytes > max_bytes;
        if (!refer && too_large != Py_None) {
            PyObject *answer = PyObject_Vectorcall(too_large, &item, 1, NULL);
            refer = answer == NULL || PyObject_IsTrue(answer) != 0;
            Py_XDECREF(answer);
            PyErr_Clear();
        }
        if (refer) {
            Py_DECREF(value);
            Py_XDECREF(key);
            *refer_next = 1;
            break;
        }
        struct msgstate *state = malloc(sizeof(*state));
        if (state == NULL) {
            /* Out of memory: the Python loop meets it and counts the item. */
            Py_DECREF(value);
            Py_XDECREF(key);
            *refer_next = 1;
            break;
        }
        state->self = self->producer;
        state->dr_cb = self->on_delivery;
        Py_INCREF(state->dr_cb);
        run[count].value = value;
        run[count].key = key;
        run[count].state = state;
        count++;
        run_bytes += PyBytes_GET_SIZE(value);
    }
    return count;
}

/* Hand the run's records to librdkafka (the lock released); return how many it took. */
static Py_ssize_t
produce_run(RecordProducer *self, Record *run, Py_ssize_t count)
{
    Py_ssize_t taken = 0;
    PyThreadState *saved =
        release_lock && count >= RELEASE_MIN_ITEMS ? PyEval_SaveThread() : NULL;
    for (; taken < count; taken++) {
        Record *record = &run[taken];
        rd_kafka_headers_t *headers =
            self->headers != NULL ? self->headers_copy(self->headers) : NULL;
        rd_kafka_resp_err_t err = self->producev(
            self->rk, VTYPE_TOPIC, self->topic, VTYPE_MSGFLAGS, MSG_F_COPY, VTYPE_VALUE,
            (void *)PyBytes_AS_STRING(record->value), (size_t)PyBytes_GET_SIZE(record->value),
            VTYPE_KEY, record->key ? (void *)PyBytes_AS_STRING(record->key) : NULL,
            record->key ? (size_t)PyBytes_GET_SIZE(record->key) : (size_t)0, VTYPE_OPAQUE,
            (void *)record->state, VTYPE_HEADERS, headers, VTYPE_END);
        if (err != 0) {
            /* Not queued: the headers are still ours; the item goes to the Python loop. */
            if (headers != NULL) {
                self->headers_destroy(headers);
            }
            break;
        }
    }
    if (saved != NULL) {
        PyEval_RestoreThread(saved);
    }
    return taken;
}

PyDoc_STRVAR(send_doc,
"send(items, start, encode, key_of, too_large, max_bytes, fixed_bytes, /)\n--\n\n"
"Produce items[start:] until one needs the Python loop; return (index of that item or\n"
"len(items), records produced, value bytes produced).");

static PyObject *
RecordProducer_send(RecordProducer *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7 || !PyList_CheckExact(args[0]) || !PyLong_Check(args[1]) ||
        !PyCallable_Check(args[2]) || !PyCallable_Check(args[3]) ||
        (args[4] != Py_None && !PyCallable_Check(args[4])) || !PyLong_Check(args[5]) ||
        !PyLong_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError,
                        "send(list, int, callable, callable, callable or None, int, int) "
                        "expected");
        return NULL;
    }
    if (self->producer == NULL) {
        PyErr_SetString(PyExc_TypeError, "the RecordProducer was not initialised");
        return NULL;
    }
    PyObject *items = args[0];
    Py_ssize_t index = PyLong_AsSsize_t(args[1]);
    Py_ssize_t max_bytes = PyLong_AsSsize_t(args[5]);
    Py_ssize_t fixed_bytes = PyLong_AsSsize_t(args[6]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    Record *run = PyMem_Malloc(sizeof(Record) * RUN_MAX_ITEMS);
    if (run == NULL) {
        return PyErr_NoMemory();
    }
    /* The list is the sender's own batch; held while the lock is released. */
    Py_INCREF(items);
    Py_ssize_t end = PyList_GET_SIZE(items);
    long long produced = 0, produced_bytes = 0;
    if (index < 0) {
        index = 0;
    }
    while (index < end) {
        int refer = 0;
        Py_ssize_t count = prepare_run(self, items, index, args[2], args[3], args[4], max_bytes,
                                       fixed_bytes, run, &refer);
        Py_ssize_t taken = count > 0 ? produce_run(self, run, count) : 0;
        for (Py_ssize_t k = 0; k < count; k++) {
            if (k < taken) {
                produced_bytes += PyBytes_GET_SIZE(run[k].value);
            }
            else {
                Py_DECREF(run[k].state->dr_cb);
                free(run[k].state);
            }
            Py_DECREF(run[k].value);
            Py_XDECREF(run[k].key);
        }
        if (taken < count) {
            self->run_limit = taken > 0 ? taken : 1;
        }
        else if (self->run_limit < RUN_MAX_ITEMS) {
            self->run_limit = self->run_limit * 2 < RUN_MAX_ITEMS ? self->run_limit * 2
                                                                 : RUN_MAX_ITEMS;
        }
        produced += taken;
        index += taken;
        self->runs += count > 0;
        /* Go on only after a whole run was taken and the run ended by its own bounds. */
        if (taken < count || refer || count == 0) {
            break;
        }
    }
    self->produced += (Py_ssize_t)produced;
    Py_DECREF(items);
    PyMem_Free(run);
    return Py_BuildValue("nLL", index, produced, produced_bytes);
}

static PyObject *
RecordProducer_get_runs(RecordProducer *self, void *closure)
{
    (void)closure;
    return PyLong_FromSsize_t(self->runs);
}

static PyObject *
RecordProducer_get_produced(RecordProducer *self, void *closure)
{
    (void)closure;
    return PyLong_FromSsize_t(self->produced);
}

static PyMethodDef RecordProducer_methods[] = {
    {"send", (PyCFunction)(void (*)(void))RecordProducer_send, METH_FASTCALL, send_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef RecordProducer_getset[] = {
    {"runs", (getter)RecordProducer_get_runs, NULL,
     "Runs produced with the interpreter lock released (a guard for tests).", NULL},
    {"produced", (getter)RecordProducer_get_produced, NULL,
     "Records this loop handed to librdkafka (a guard for tests).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(RecordProducer_doc,
"RecordProducer(producer, library_path, client_id, topic, headers, on_delivery)\n--\n\n"
"The sender's produce loop for one confluent_kafka.Producer, one topic and fixed headers.");

static PyTypeObject RecordProducer_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "spanstream.producer._produce.RecordProducer",
    .tp_basicsize = sizeof(RecordProducer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = RecordProducer_doc,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)RecordProducer_init,
    .tp_dealloc = (destructor)RecordProducer_dealloc,
    .tp_methods = RecordProducer_methods,
    .tp_getset = RecordProducer_getset,
};

PyDoc_STRVAR(set_release_lock_doc,
"set_release_lock(release, /)\n--\n\n"
"Call librdkafka with the interpreter lock released (True, the default) or held; returns\n"
"the previous setting. For benchmarks that compare the two.");

static PyObject *
set_release_lock(PyObject *module, PyObject *arg)
{
    (void)module;
    int release = PyObject_IsTrue(arg);
    if (release < 0) {
        return NULL;
    }
    int previous = release_lock;
    release_lock = release;
    return PyBool_FromLong(previous);
}

static PyMethodDef module_methods[] = {
    {"set_release_lock", set_release_lock, METH_O, set_release_lock_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "spanstream.producer._produce",
    .m_doc = "The Kafka sender's produce loop in C (see producer/_produce.c).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__produce(void)
{
    if (PyType_Ready(&RecordProducer_type) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&RecordProducer_type);
    if (PyModule_AddObject(module, "RecordProducer", (PyObject *)&RecordProducer_type) < 0) {
        Py_DECREF(&RecordProducer_type);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
