/*
 * spanstream.consumer._convert: the consumer's conversion loop in C (optional accelerator).
 *
 * RecordConverter.convert (consumer/_record_conversion.py) turns consumed confluent-kafka
 * messages into SpanRecords. This
 * module does it for the plain case, message after message, and stops at the first message
 * that is anything else: a Kafka error event, a value that is not a single-object span message
 * of the current schema, one the decoder refuses, a span id already in the duplicate window, a
 * window generation that is full, or an object that is not a confluent-kafka Message. The
 * Python loop then handles that one message exactly as it always does (bad-record policies,
 * duplicate counting, rotation) and calls back here for the rest. So the C loop never has a
 * side effect on a message it does not convert, and the Python loop stays the reference.
 *
 * A record is written slot by slot (SpanRecord's slots, handed over by configure()): the
 * headers are left for SpanRecord.headers to read from the message when first asked for.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>

#define N_RECORD_SLOTS 8
enum { R_SPAN, R_TOPIC, R_PARTITION, R_OFFSET, R_KEY, R_HEADERS, R_TIMESTAMP, R_MESSAGE };

#define N_MESSAGE_METHODS 7
enum { M_ERROR, M_VALUE, M_TOPIC, M_PARTITION, M_OFFSET, M_KEY, M_TIMESTAMP };
static const char *const method_names[N_MESSAGE_METHODS] = {
    "error", "value", "topic", "partition", "offset", "key", "timestamp"};

static PyTypeObject *record_type = NULL;
static Py_ssize_t record_offsets[N_RECORD_SLOTS];
static PyTypeObject *message_type = NULL;
static PyObject *message_methods[N_MESSAGE_METHODS];
static PyObject *decode_body = NULL; /* (bytes, offset) -> Span, the schemas' C decoder */
static PyObject *marker = NULL;      /* the single-object header: C3 01 + fingerprint */
static PyObject *str_span_id = NULL;

static inline PyObject *
call_method(int which, PyObject *message)
{
    return PyObject_Vectorcall(message_methods[which], &message, 1, NULL);
}

PyDoc_STRVAR(configure_doc,
"configure(record_type, slot_descriptors, message_type, decode_body, marker)\n--\n\n"
"Hand over SpanRecord and the member descriptors of its slots (RECORD_FIELDS order),\n"
"confluent_kafka.Message, the decoder of a message body and the single-object header.");

static PyObject *
configure(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyType_Check(args[0]) || !PyTuple_Check(args[1]) ||
        PyTuple_GET_SIZE(args[1]) != N_RECORD_SLOTS || !PyType_Check(args[2]) ||
        !PyCallable_Check(args[3]) || !PyBytes_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError,
                        "configure(type, 8 descriptors, type, callable, bytes) expected");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)args[0];
    Py_ssize_t offsets[N_RECORD_SLOTS];
    for (int i = 0; i < N_RECORD_SLOTS; i++) {
        PyObject *descr = PyTuple_GET_ITEM(args[1], i);
        if (!Py_IS_TYPE(descr, &PyMemberDescr_Type) ||
            ((PyMemberDescrObject *)descr)->d_common.d_type != type) {
            PyErr_SetString(PyExc_TypeError, "the record's slots must be its member descriptors");
            return NULL;
        }
        PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type != T_OBJECT_EX || member->offset <= 0 ||
            member->offset + (Py_ssize_t)sizeof(PyObject *) > type->tp_basicsize) {
            PyErr_SetString(PyExc_TypeError, "a record slot is not an object slot of the type");
            return NULL;
        }
        offsets[i] = member->offset;
    }
    PyObject *methods[N_MESSAGE_METHODS];
    for (int i = 0; i < N_MESSAGE_METHODS; i++) {
        methods[i] = PyObject_GetAttrString(args[2], method_names[i]);
        if (methods[i] == NULL) {
            for (int j = 0; j < i; j++) {
                Py_DECREF(methods[j]);
            }
            return NULL;
        }
    }
    if (str_span_id == NULL && (str_span_id = PyUnicode_InternFromString("span_id")) == NULL) {
        return NULL;
    }
    Py_XSETREF(record_type, (PyTypeObject *)Py_NewRef(type));
    memcpy(record_offsets, offsets, sizeof(offsets));
    Py_XSETREF(message_type, (PyTypeObject *)Py_NewRef(args[2]));
    for (int i = 0; i < N_MESSAGE_METHODS; i++) {
        Py_XSETREF(message_methods[i], methods[i]);
    }
    Py_XSETREF(decode_body, Py_NewRef(args[3]));
    Py_XSETREF(marker, Py_NewRef(args[4]));
    Py_RETURN_NONE;
}

/* Convert one message; 1: appended a record, 0: not the plain case (nothing done), -1: error. */
static int
convert_one(PyObject *message, PyObject *out, PyObject *current, PyObject *previous,
            Py_ssize_t window_size)
{
    PyObject *values[N_RECORD_SLOTS] = {NULL};
    int result = -1;
    PyObject *error = call_method(M_ERROR, message);
    if (error == NULL) {
        return -1;
    }
    int is_event = error != Py_None;
    Py_DECREF(error);
    if (is_event) {
        return 0;
    }
    PyObject *value = call_method(M_VALUE, message);
    if (value == NULL) {
        return -1;
    }
    Py_ssize_t header_size = PyBytes_GET_SIZE(marker);
    if (!PyBytes_CheckExact(value) || PyBytes_GET_SIZE(value) < header_size ||
        memcmp(PyBytes_AS_STRING(value), PyBytes_AS_STRING(marker), (size_t)header_size) != 0) {
        Py_DECREF(value);
        return 0;
    }
    PyObject *call_args[2] = {value, NULL};
    call_args[1] = PyLong_FromSsize_t(header_size);
    if (call_args[1] == NULL) {
        Py_DECREF(value);
        return -1;
    }
    values[R_SPAN] = PyObject_Vectorcall(decode_body, call_args, 2, NULL);
    Py_DECREF(call_args[1]);
    Py_DECREF(value);
    if (values[R_SPAN] == NULL) {
        /* A bad record: the Python loop decodes it again and applies the policy. */
        if (!PyErr_ExceptionMatches(PyExc_Exception)) {
            return -1;
        }
        PyErr_Clear();
        return 0;
    }
    PyObject *span_id = PyObject_GetAttr(values[R_SPAN], str_span_id);
    if (span_id == NULL) {
        goto done;
    }
    /* One lookup in each generation: adding to ``current`` tells whether it was there (the
     * size stays), and adding what was there changes nothing for the Python loop to see. */
    int seen = PySet_GET_SIZE(previous) ? PySet_Contains(previous, span_id) : 0;
    if (seen == 0) {
        Py_ssize_t before = PySet_GET_SIZE(current);
        if (window_size > 0 && before < window_size) {
            if (PySet_Add(current, span_id) < 0) {
                seen = -1;
            }
            else if (PySet_GET_SIZE(current) == before) {
                seen = 1; /* in the window already */
            }
        }
        else if (window_size > 0) {
            seen = 1; /* the generations rotate: the Python loop does it */
        }
        else {
            seen = PySet_Contains(current, span_id);
        }
    }
    Py_DECREF(span_id);
    if (seen != 0) {
        result = seen < 0 ? -1 : 0; /* a duplicate: counted (and maybe dropped) in Python */
        goto done;
    }
    PyObject *timestamp = call_method(M_TIMESTAMP, message);
    if (timestamp == NULL) {
        goto done;
    }
    if (!PyTuple_Check(timestamp) || PyTuple_GET_SIZE(timestamp) != 2) {
        Py_DECREF(timestamp);
        PyErr_SetString(PyExc_TypeError, "Message.timestamp() is not a pair");
        goto done;
    }
    int has_timestamp = PyObject_IsTrue(PyTuple_GET_ITEM(timestamp, 0));
    if (has_timestamp < 0) {
        Py_DECREF(timestamp);
        goto done;
    }
    values[R_TIMESTAMP] = Py_NewRef(has_timestamp ? PyTuple_GET_ITEM(timestamp, 1) : Py_None);
    Py_DECREF(timestamp);
    if ((values[R_TOPIC] = call_method(M_TOPIC, message)) == NULL ||
        (values[R_PARTITION] = call_method(M_PARTITION, message)) == NULL ||
        (values[R_OFFSET] = call_method(M_OFFSET, message)) == NULL ||
        (values[R_KEY] = call_method(M_KEY, message)) == NULL) {
        goto done;
    }
    values[R_HEADERS] = Py_NewRef(Py_None); /* read from the message when first asked for */
    values[R_MESSAGE] = Py_NewRef(message);
    PyObject *record = record_type->tp_alloc(record_type, 0);
    if (record == NULL) {
        goto done;
    }
    for (int i = 0; i < N_RECORD_SLOTS; i++) {
        *(PyObject **)((char *)record + record_offsets[i]) = values[i];
        values[i] = NULL; /* the record owns it now */
    }
    /* Spans, strings, ints, bytes and a confluent-kafka Message: a record is in no cycle. */
    PyObject_GC_UnTrack(record);
    result = PyList_Append(out, record) < 0 ? -1 : 1;
    Py_DECREF(record);
done:
    for (int i = 0; i < N_RECORD_SLOTS; i++) {
        Py_XDECREF(values[i]);
    }
    return result;
}

PyDoc_STRVAR(convert_doc,
"convert(messages, start, out, current, previous, window_size)\n--\n\n"
"Append a SpanRecord to out for each message of the list from index start on, while each is\n"
"the plain case; return the index of the first message it did not convert (len(messages) when\n"
"it converted them all). current and previous are the duplicate window's sets of span ids,\n"
"window_size the size of a generation (0: no window).");

static PyObject *
convert(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (record_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "configure() was not called");
        return NULL;
    }
    if (nargs != 6 || !PyList_CheckExact(args[0]) || !PyList_CheckExact(args[2]) ||
        !PySet_CheckExact(args[3]) || !PySet_CheckExact(args[4])) {
        PyErr_SetString(PyExc_TypeError,
                        "convert(list, int, list, set, set, int) expected");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    Py_ssize_t window_size = PyLong_AsSsize_t(args[5]);
    if ((start == -1 || window_size == -1) && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *messages = args[0];
    Py_ssize_t i = start < 0 ? 0 : start;
    for (; i < PyList_GET_SIZE(messages); i++) {
        PyObject *message = PyList_GET_ITEM(messages, i);
        if (!Py_IS_TYPE(message, message_type)) {
            break;
        }
        Py_INCREF(message);
        int converted = convert_one(message, args[2], args[3], args[4], window_size);
        Py_DECREF(message);
        if (converted < 0) {
            return NULL;
        }
        if (converted == 0) {
            break;
        }
    }
    return PyLong_FromSsize_t(i);
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_FASTCALL, configure_doc},
    {"convert", (PyCFunction)(void (*)(void))convert, METH_FASTCALL, convert_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "spanstream.consumer._convert",
    "The consumer's conversion loop in C; RecordConverter.convert is the reference.",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__convert(void)
{
    return PyModule_Create(&module_def);
}
