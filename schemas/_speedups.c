/*
 * spanstream.schemas._speedups: the codec's hot paths in C (optional accelerator).
 *
 * A line-by-line port of the pure-Python reference in _decoder.py (decode_body) and
 * _encoder.py (encode_framed) for the current schema (span.avsc v1). The Python code stays the
 * reference and the fallback: this module must accept and reject exactly what it does, with
 * the same DecodeError reasons, and write byte-identical output (tests run both).
 *
 * The decoder treats its input as hostile: every length and count is checked against the
 * bytes that remain before anything is allocated, varints stop at 10 bytes and 64 bits,
 * strings are strict UTF-8, nesting stops at MAX_SPAN_DEPTH, and every failure is the
 * Python BodyError(reason, message) the codec turns into a DecodeError.
 *
 * configure() must be called once (by spanstream.schemas._implementation) before use: it hands over
 * the Span class, its slot descriptors, the exception classes and the constants.
 *
 * The caller's side of add_span lives here too: Span.builder, SpanBuilder.set_attribute (a
 * method descriptor of the Python class, writing its slots; configure_builder() hands them
 * over), build_tree (a builder and its builder children, scope variables merged) and the id
 * generator. Each takes the plain case and hands anything else to the Python reference in
 * _span.py / _ids.py, so errors are the reference's own (tests/unit/test_builder_speedups.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* Span's fields in its positional order (_span.SPAN_FIELDS, read from the class): configure()
 * refuses field names that do not match these, so a changed Span cannot meet stale C. */
#define N_FIELDS 8
enum { F_SCOPE, F_NAME, F_START, F_END, F_ATTRIBUTES, F_CHILDREN, F_TRACE, F_SPAN };
static const char *const expected_field_names[N_FIELDS] = {
    "scope", "name", "start_ts_millis", "end_ts_millis", "attributes", "children", "trace_id",
    "span_id"};

#define MIN_ENTRY_BYTES 3 /* key length, union branch, one byte of value at least */
#define MIN_SPAN_BYTES 30 /* two ids, four one-byte fields, two empty blocks */

static PyTypeObject *span_type = NULL;
static PyObject *descriptors[N_FIELDS];
static Py_ssize_t slot_offsets[N_FIELDS]; /* each field's slot offset; 0: set by descriptors */
static PyObject *field_names[N_FIELDS];
static PyObject *body_error = NULL;
static PyObject *encode_error = NULL;
static PyObject *too_deep_error = NULL;
static PyObject *empty_attributes = NULL;
static PyObject *str_items = NULL;
static int max_depth = -1;

/* ------------------------------------------------------------------------------------------ */
/* decoder                                                                                     */

typedef struct {
    const unsigned char *data;
    Py_ssize_t size;
    PyObject *owner; /* the bytes object data points into; NULL: decode children eagerly */
} Reader;

/* Raise BodyError(reason, message); ``cause`` (a reference, stolen; may be NULL) chains. */
static void
raise_body_error(const char *reason, PyObject *cause, const char *format, ...)
{
    va_list va;
    va_start(va, format);
    PyObject *message = PyUnicode_FromFormatV(format, va);
    va_end(va);
    PyObject *exc = NULL;
    if (message != NULL) {
        exc = PyObject_CallFunction(body_error, "sO", reason, message);
        Py_DECREF(message);
    }
    if (exc == NULL) {
        Py_XDECREF(cause);
        return;
    }
    if (cause != NULL) {
        PyException_SetCause(exc, cause); /* steals */
    }
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
}

static void
truncated_in_span(void)
{
    raise_body_error("truncated", NULL, "the message ends in the middle of a span");
}

/* Read an unsigned varint at *pos (at most 10 bytes, at most 64 bits). */
static int
read_varint(const Reader *r, Py_ssize_t *pos, uint64_t *out)
{
    Py_ssize_t p = *pos;
    uint64_t z = 0;
    for (int i = 0;; i++) {
        if (p >= r->size) {
            truncated_in_span();
            return -1;
        }
        unsigned char byte = r->data[p++];
        if (i == 9) {
            if (byte & 0x80) {
                raise_body_error(
                    "malformed", NULL, "varint longer than 10 bytes at offset %zd", p);
                return -1;
            }
            if (byte > 1) {
                raise_body_error("malformed", NULL, "varint beyond 64 bits at offset %zd", p);
                return -1;
            }
        }
        z |= (uint64_t)(byte & 0x7F) << (7 * i);
        if (!(byte & 0x80)) {
            break;
        }
    }
    *pos = p;
    *out = z;
    return 0;
}

static inline int64_t
unzigzag(uint64_t z)
{
    return (int64_t)((z >> 1) ^ (~(z & 1) + 1));
}

static int
read_long(const Reader *r, Py_ssize_t *pos, int64_t *out)
{
    uint64_t z;
    if (read_varint(r, pos, &z) < 0) {
        return -1;
    }
    *out = unzigzag(z);
    return 0;
}

/* An array or map block's item count; a negative count is followed by a byte size. */
static int
block_count(const Reader *r, Py_ssize_t *pos, uint64_t min_item_bytes, const char *what,
            uint64_t *out)
{
    int64_t signed_count;
    if (read_long(r, pos, &signed_count) < 0) {
        return -1;
    }
    uint64_t count;
    if (signed_count < 0) {
        count = (uint64_t)0 - (uint64_t)signed_count;
        int64_t ignored;
        if (read_long(r, pos, &ignored) < 0) {
            return -1;
        }
    }
    else {
        count = (uint64_t)signed_count;
    }
    uint64_t left = (uint64_t)(r->size - *pos);
    if (count > left / min_item_bytes) {
        raise_body_error("truncated", NULL, "%s claims %llu items but only %zd bytes remain",
                         what, (unsigned long long)count, r->size - *pos);
        return -1;
    }
    *out = count;
    return 0;
}

/*
 * Decoded short ASCII strings (scopes, names, attribute keys, repeated values) are kept in a
 * small direct-mapped cache: a hit returns the same str object (its hash already computed,
 * which the attributes dict reuses) instead of decoding the bytes again. Bounded: at most
 * STRING_CACHE_SIZE strings of at most STRING_CACHE_MAX_BYTES characters. Only ASCII bytes
 * are cached, and a hit compares every byte, so the result is the str a fresh decode gives.
 * Every access holds the GIL.
 */
#define STRING_CACHE_SIZE 1024
#define STRING_CACHE_MAX_BYTES 64
static PyObject *string_cache[STRING_CACHE_SIZE];

static PyObject *
cached_ascii(const unsigned char *bytes, Py_ssize_t size)
{
    /* Eight bytes at a time: the ASCII test and a multiplicative hash of each word, folded
     * so that every byte reaches the slot bits. */
    uint64_t high = 0;
    uint64_t hash = (uint64_t)size * 0x9E3779B97F4A7C15u;
    Py_ssize_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t word;
        memcpy(&word, bytes + i, 8);
        high |= word;
        hash = (hash ^ word) * 0x100000001B3u;
        hash ^= hash >> 32;
    }
    uint64_t tail = 0;
    memcpy(&tail, bytes + i, (size_t)(size - i));
    high |= tail;
    hash = (hash ^ tail) * 0x100000001B3u;
    hash ^= hash >> 32;
    hash ^= hash >> 16;
    if (high & 0x8080808080808080u) {
        return NULL; /* not ASCII: decoded (and validated) the ordinary way */
    }
    PyObject **slot = &string_cache[hash & (STRING_CACHE_SIZE - 1)];
    PyObject *s = *slot;
    if (s != NULL && PyUnicode_GET_LENGTH(s) == size &&
        memcmp(PyUnicode_DATA(s), bytes, (size_t)size) == 0) {
        return Py_NewRef(s);
    }
    s = PyUnicode_New(size, 127);
    if (s == NULL) {
        return NULL;
    }
    memcpy(PyUnicode_DATA(s), bytes, (size_t)size);
    Py_XSETREF(*slot, Py_NewRef(s));
    return s;
}

/* A string: zig-zag length (negative is malformed), bounds check, strict UTF-8. */
static PyObject *
read_string(const Reader *r, Py_ssize_t *pos, const char *what, const char *the_what,
            PyObject *key)
{
    uint64_t z;
    if (read_varint(r, pos, &z) < 0) {
        return NULL;
    }
    if (z & 1) {
        if (key != NULL) {
            raise_body_error("malformed", NULL, "attribute %R: string: negative length", key);
        }
        else {
            raise_body_error("malformed", NULL, "%s: negative length", what);
        }
        return NULL;
    }
    uint64_t size = z >> 1;
    if (size > (uint64_t)(r->size - *pos)) {
        if (key != NULL) {
            raise_body_error("truncated", NULL, "attribute %R: string cut short", key);
        }
        else {
            raise_body_error("truncated", NULL, "%s is cut short", the_what);
        }
        return NULL;
    }
    const unsigned char *bytes = r->data + *pos;
    PyObject *s = NULL;
    if (size <= STRING_CACHE_MAX_BYTES) {
        s = cached_ascii(bytes, (Py_ssize_t)size);
        if (s == NULL && PyErr_Occurred()) {
            return NULL;
        }
    }
    if (s == NULL) {
        s = PyUnicode_DecodeUTF8((const char *)bytes, (Py_ssize_t)size, "strict");
    }
    if (s == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
            PyObject *type, *value, *tb;
            PyErr_Fetch(&type, &value, &tb);
            PyErr_NormalizeException(&type, &value, &tb);
            Py_XDECREF(type);
            Py_XDECREF(tb);
            if (value == NULL) {
                raise_body_error("malformed", NULL, "a string is not UTF-8");
                return NULL;
            }
            raise_body_error("malformed", value, "a string is not UTF-8: %S", value);
        }
        return NULL;
    }
    *pos += (Py_ssize_t)size;
    return s;
}

/* A finished span cannot be part of a reference cycle: its fields are strings, ints, ids,
 * a read-only view of a dict of plain values and a tuple of spans built before it. So the
 * cyclic GC need not scan it: with thousands of spans alive (a batch, a hand-off queue) every
 * young collection would otherwise walk each of them. (Safe for a class defined in Python:
 * its dealloc untracks only if tracked. Not for the mappingproxy, whose dealloc assumes it.) */
static PyObject *
new_span(PyObject *values[N_FIELDS])
{
    PyObject *span = span_type->tp_alloc(span_type, 0);
    if (span == NULL) {
        return NULL;
    }
    if (slot_offsets[0] > 0) {
        /* The slots are plain object slots (configure() checked): written directly, as the
         * member descriptors would after their checks, which cost as much as a string. */
        for (int i = 0; i < N_FIELDS; i++) {
            *(PyObject **)((char *)span + slot_offsets[i]) = Py_NewRef(values[i]);
        }
        PyObject_GC_UnTrack(span);
        return span;
    }
    for (int i = 0; i < N_FIELDS; i++) {
        PyObject *descr = descriptors[i];
        if (Py_TYPE(descr)->tp_descr_set(descr, span, values[i]) < 0) {
            Py_DECREF(span);
            return NULL;
        }
    }
    PyObject_GC_UnTrack(span);
    return span;
}

static PyObject *
read_attributes(const Reader *r, Py_ssize_t *pos)
{
    if (*pos >= r->size) {
        truncated_in_span();
        return NULL;
    }
    if (r->data[*pos] == 0) {
        *pos += 1;
        return Py_NewRef(empty_attributes);
    }
    uint64_t count;
    if (block_count(r, pos, MIN_ENTRY_BYTES, "attributes", &count) < 0) {
        return NULL;
    }
    /* Sized for the first block (bounded by the bytes left): no resize while filling it. */
    PyObject *attributes = _PyDict_NewPresized((Py_ssize_t)count);
    if (attributes == NULL) {
        return NULL;
    }
    while (count) {
        for (uint64_t i = 0; i < count; i++) {
            PyObject *key = read_string(r, pos, "attribute key", "an attribute key", NULL);
            if (key == NULL) {
                goto error;
            }
            if (*pos >= r->size) {
                Py_DECREF(key);
                truncated_in_span();
                goto error;
            }
            unsigned char branch = r->data[(*pos)++];
            PyObject *value = NULL;
            if (branch == 0) {
                value = read_string(r, pos, NULL, NULL, key);
            }
            else if (branch == 2) {
                int64_t n;
                if (read_long(r, pos, &n) == 0) {
                    value = PyLong_FromLongLong(n);
                }
            }
            else if (branch == 4) {
                if (r->size - *pos < 8) {
                    truncated_in_span();
                }
                else {
                    double d = PyFloat_Unpack8((const char *)r->data + *pos, 1);
                    if (!(d == -1.0 && PyErr_Occurred())) {
                        value = PyFloat_FromDouble(d);
                        *pos += 8;
                    }
                }
            }
            else if (branch == 6) {
                if (*pos >= r->size) {
                    truncated_in_span();
                }
                else {
                    unsigned char flag = r->data[(*pos)++];
                    if (flag > 1) {
                        raise_body_error(
                            "malformed", NULL, "attribute %R: boolean byte %d", key, (int)flag);
                    }
                    else {
                        value = Py_NewRef(flag ? Py_True : Py_False);
                    }
                }
            }
            else {
                raise_body_error(
                    "malformed", NULL, "attribute %R: union branch byte %d", key, (int)branch);
            }
            if (value == NULL) {
                Py_DECREF(key);
                goto error;
            }
            int failed = PyDict_SetItem(attributes, key, value);
            Py_DECREF(key);
            Py_DECREF(value);
            if (failed) {
                goto error;
            }
        }
        if (block_count(r, pos, MIN_ENTRY_BYTES, "attributes", &count) < 0) {
            goto error;
        }
    }
    if (PyDict_GET_SIZE(attributes) == 0) {
        Py_DECREF(attributes);
        return Py_NewRef(empty_attributes);
    }
    PyObject *proxy = PyDictProxy_New(attributes);
    Py_DECREF(attributes);
    return proxy;
error:
    Py_DECREF(attributes);
    return NULL;
}

static PyObject *read_span(const Reader *r, Py_ssize_t *pos, int depth, int lazy);

static PyObject *
read_children(const Reader *r, Py_ssize_t *pos, int depth)
{
    if (*pos >= r->size) {
        truncated_in_span();
        return NULL;
    }
    if (r->data[*pos] == 0) {
        *pos += 1;
        return PyTuple_New(0);
    }
    uint64_t count;
    if (block_count(r, pos, MIN_SPAN_BYTES, "children", &count) < 0) {
        return NULL;
    }
    if (count && depth >= max_depth) {
        raise_body_error(
            "too-deep", NULL, "children nest deeper than %d levels", max_depth);
        return NULL;
    }
    PyObject *children = PyList_New(0);
    if (children == NULL) {
        return NULL;
    }
    while (count) {
        for (uint64_t i = 0; i < count; i++) {
            PyObject *child = read_span(r, pos, depth + 1, 0);
            if (child == NULL) {
                goto error;
            }
            int failed = PyList_Append(children, child);
            Py_DECREF(child);
            if (failed) {
                goto error;
            }
        }
        if (block_count(r, pos, MIN_SPAN_BYTES, "children", &count) < 0) {
            goto error;
        }
    }
    PyObject *tuple = PyList_AsTuple(children);
    Py_DECREF(children);
    return tuple;
error:
    Py_DECREF(children);
    return NULL;
}

static PyObject *lazy_children(const Reader *r, Py_ssize_t *pos, int depth);

/* One span; with ``lazy``, its children stay bytes (checked) until first asked for. */
static PyObject *
read_span(const Reader *r, Py_ssize_t *pos, int depth, int lazy)
{
    PyObject *values[N_FIELDS] = {NULL};
    PyObject *span = NULL;
    Py_ssize_t p = *pos;
    if (p > r->size || r->size - p < 24) {
        raise_body_error("truncated", NULL, "the span ids are cut short");
        return NULL;
    }
    values[F_TRACE] = PyBytes_FromStringAndSize((const char *)r->data + p, 16);
    if (values[F_TRACE] == NULL) {
        goto done;
    }
    values[F_SPAN] = PyBytes_FromStringAndSize((const char *)r->data + p + 16, 8);
    if (values[F_SPAN] == NULL) {
        goto done;
    }
    p += 24;
    values[F_SCOPE] = read_string(r, &p, "scope", "the scope", NULL);
    if (values[F_SCOPE] == NULL) {
        goto done;
    }
    values[F_NAME] = read_string(r, &p, "name", "the name", NULL);
    if (values[F_NAME] == NULL) {
        goto done;
    }
    int64_t ts;
    if (read_long(r, &p, &ts) < 0 || (values[F_START] = PyLong_FromLongLong(ts)) == NULL) {
        goto done;
    }
    if (read_long(r, &p, &ts) < 0 || (values[F_END] = PyLong_FromLongLong(ts)) == NULL) {
        goto done;
    }
    values[F_ATTRIBUTES] = read_attributes(r, &p);
    if (values[F_ATTRIBUTES] == NULL) {
        goto done;
    }
    values[F_CHILDREN] = lazy ? lazy_children(r, &p, depth) : read_children(r, &p, depth);
    if (values[F_CHILDREN] == NULL) {
        goto done;
    }
    span = new_span(values);
    if (span != NULL) {
        *pos = p;
    }
done:
    for (int i = 0; i < N_FIELDS; i++) {
        Py_XDECREF(values[i]);
    }
    return span;
}

/* ------------------------------------------------------------------------------------------ */
/* lazy children                                                                               */

/*
 * A decoded tree keeps its root's children as bytes until ``Span.children`` is first read:
 * a consumer that looks only at the root (its records, its counters, a table of roots) never
 * builds the children's Spans, which are most of a tree's cost. So that a bad record is still
 * found where the consumer applies its bad-record policy, decode_body walks the children's
 * bytes at once with every check the eager decoder makes (lengths, varints, strict UTF-8,
 * union branches, booleans, depth), building nothing; if the walk finds anything wrong, the
 * children are decoded eagerly there and then, which raises the eager decoder's own error. A
 * walk that passes guarantees the later decode succeeds (short of memory).
 *
 * The children stay in Span's ``children`` slot as a LazyChildren object (the message bytes,
 * where the array starts, the depth). ``Span.children`` is a ChildrenField: a data descriptor
 * over that slot that returns the slot's tuple, or decodes the LazyChildren once, stores the
 * tuple in the slot and returns it. Nothing outside sees the LazyChildren: every read of the
 * field (equality, walk, repr, pickling, the encoder) goes through the descriptor.
 */

/* Strict UTF-8 as CPython's "strict" decoder takes it: no overlong forms, no surrogates,
 * nothing beyond U+10FFFF, no sequence cut short. */
static int
valid_utf8(const unsigned char *s, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    while (i < n) {
        if (n - i >= 8) {
            uint64_t word;
            memcpy(&word, s + i, 8);
            if (!(word & 0x8080808080808080u)) {
                i += 8;
                continue;
            }
        }
        unsigned char c = s[i];
        if (c < 0x80) {
            i += 1;
            continue;
        }
        Py_ssize_t need;
        unsigned char second_min = 0x80, second_max = 0xBF; /* the second byte's range */
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        }
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) {
                second_min = 0xA0; /* overlong */
            }
            else if (c == 0xED) {
                second_max = 0x9F; /* surrogates */
            }
        }
        else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) {
                second_min = 0x90; /* overlong */
            }
            else if (c == 0xF4) {
                second_max = 0x8F; /* beyond U+10FFFF */
            }
        }
        else {
            return 0;
        }
        if (n - i <= need || s[i + 1] < second_min || s[i + 1] > second_max) {
            return 0;
        }
        for (Py_ssize_t k = 2; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return 0;
            }
        }
        i += need + 1;
    }
    return 1;
}

/* read_varint, with the one-byte case (most lengths and small longs) inline. */
static inline int
check_varint(const Reader *r, Py_ssize_t *pos, uint64_t *out)
{
    if (*pos < r->size && r->data[*pos] < 0x80) {
        *out = r->data[(*pos)++];
        return 0;
    }
    return read_varint(r, pos, out);
}

/* Whether ``n`` bytes are all ASCII (most strings are): every byte ORed together, a word at
 * a time (the last word overlapping the one before it), without a branch per byte. */
static inline int
all_ascii(const unsigned char *s, Py_ssize_t n)
{
    uint64_t high = 0;
    if (n >= 8) {
        for (Py_ssize_t i = 0; n - i >= 8; i += 8) {
            uint64_t word;
            memcpy(&word, s + i, 8);
            high |= word;
        }
        uint64_t last;
        memcpy(&last, s + n - 8, 8);
        high |= last;
    }
    else {
        for (Py_ssize_t i = 0; i < n; i++) {
            high |= s[i];
        }
    }
    return !(high & 0x8080808080808080u);
}

/* Step over a varint whose value is not needed, with read_varint's checks (at most 10
 * bytes, the tenth 0 or 1). */
static inline int
skip_varint(const Reader *r, Py_ssize_t *pos)
{
    Py_ssize_t p = *pos;
    Py_ssize_t end = r->size - p > 10 ? p + 10 : r->size;
    while (p < end) {
        if (r->data[p++] < 0x80) {
            if (p - *pos == 10 && r->data[p - 1] > 1) {
                return -1;
            }
            *pos = p;
            return 0;
        }
    }
    return -1; /* cut short, or longer than 10 bytes */
}

/* The checks of read_string, nothing built. -1: the eager decoder would fail here. */
static inline int
check_string(const Reader *r, Py_ssize_t *pos)
{
    uint64_t z;
    if (check_varint(r, pos, &z) < 0 || (z & 1)) {
        return -1;
    }
    uint64_t size = z >> 1;
    const unsigned char *bytes = r->data + *pos;
    if (size > (uint64_t)(r->size - *pos) ||
        !(all_ascii(bytes, (Py_ssize_t)size) || valid_utf8(bytes, (Py_ssize_t)size))) {
        return -1;
    }
    *pos += (Py_ssize_t)size;
    return 0;
}

static int check_children(const Reader *r, Py_ssize_t *pos, int depth);

/* The checks of read_span (and read_attributes), nothing built. -1 (a Python error may be
 * set, which the caller clears): the eager decoder would fail somewhere in this span. */
static int
check_span(const Reader *r, Py_ssize_t *pos, int depth)
{
    Py_ssize_t p = *pos;
    if (p > r->size || r->size - p < 24) {
        return -1;
    }
    p += 24;
    if (check_string(r, &p) < 0 || check_string(r, &p) < 0 || skip_varint(r, &p) < 0 ||
        skip_varint(r, &p) < 0 || p >= r->size) {
        return -1;
    }
    if (r->data[p] == 0) {
        p += 1;
    }
    else {
        uint64_t count;
        if (block_count(r, &p, MIN_ENTRY_BYTES, "attributes", &count) < 0) {
            return -1;
        }
        while (count) {
            for (uint64_t i = 0; i < count; i++) {
                if (check_string(r, &p) < 0 || p >= r->size) {
                    return -1;
                }
                unsigned char branch = r->data[p++];
                if (branch == 0) {
                    if (check_string(r, &p) < 0) {
                        return -1;
                    }
                }
                else if (branch == 2) {
                    if (skip_varint(r, &p) < 0) {
                        return -1;
                    }
                }
                else if (branch == 4) {
                    if (r->size - p < 8) {
                        return -1;
                    }
                    p += 8;
                }
                else if (branch == 6) {
                    if (p >= r->size || r->data[p] > 1) {
                        return -1;
                    }
                    p += 1;
                }
                else {
                    return -1;
                }
            }
            if (block_count(r, &p, MIN_ENTRY_BYTES, "attributes", &count) < 0) {
                return -1;
            }
        }
    }
    if (check_children(r, &p, depth) < 0) {
        return -1;
    }
    *pos = p;
    return 0;
}

/* The checks of read_children, nothing built. */
static int
check_children(const Reader *r, Py_ssize_t *pos, int depth)
{
    Py_ssize_t p = *pos;
    if (p >= r->size) {
        return -1;
    }
    if (r->data[p] == 0) {
        *pos = p + 1;
        return 0;
    }
    uint64_t count;
    if (block_count(r, &p, MIN_SPAN_BYTES, "children", &count) < 0) {
        return -1;
    }
    if (count && depth >= max_depth) {
        return -1;
    }
    while (count) {
        for (uint64_t i = 0; i < count; i++) {
            if (check_span(r, &p, depth + 1) < 0) {
                return -1;
            }
        }
        if (block_count(r, &p, MIN_SPAN_BYTES, "children", &count) < 0) {
            return -1;
        }
    }
    *pos = p;
    return 0;
}

/* Children not decoded yet: the message, where their array starts, the parent's depth. Holds
 * only a bytes object, so it is in no reference cycle and not tracked by the cyclic GC. */
typedef struct {
    PyObject_HEAD
    PyObject *data;
    Py_ssize_t start;
    int depth;
} LazyChildren;

static void
lazy_children_dealloc(LazyChildren *self)
{
    Py_XDECREF(self->data);
    PyObject_Free(self);
}

static PyTypeObject LazyChildren_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "spanstream.schemas._speedups.LazyChildren",
    .tp_basicsize = sizeof(LazyChildren),
    .tp_dealloc = (destructor)lazy_children_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A decoded span's children, still as checked bytes (internal).",
};

/* Span.children: the slot's member descriptor wrapped; decodes LazyChildren on first read. */
typedef struct {
    PyObject_HEAD
    PyObject *member;     /* the slot's own member descriptor: sets, and raises as it does */
    PyTypeObject *owner;  /* the class whose slot it is (Span) */
    Py_ssize_t offset;    /* the slot's offset in an instance */
} ChildrenField;

static ChildrenField *children_field = NULL; /* installed on Span: children decode lazily */

static PyObject *
lazy_children(const Reader *r, Py_ssize_t *pos, int depth)
{
    Py_ssize_t p = *pos;
    if (r->owner == NULL || p >= r->size || r->data[p] == 0) {
        return read_children(r, pos, depth);
    }
    if (check_children(r, &p, depth) < 0) {
        /* Something is wrong in there: the eager decoder raises its own error for it. */
        PyErr_Clear();
        return read_children(r, pos, depth);
    }
    LazyChildren *lazy = PyObject_New(LazyChildren, &LazyChildren_Type);
    if (lazy == NULL) {
        return NULL;
    }
    lazy->data = Py_NewRef(r->owner);
    lazy->start = *pos;
    lazy->depth = depth;
    *pos = p;
    return (PyObject *)lazy;
}

/* The children in ``*slot`` (a new reference), decoding a LazyChildren found there once. */
static PyObject *
materialized_children(PyObject **slot)
{
    PyObject *value = *slot;
    if (!Py_IS_TYPE(value, &LazyChildren_Type)) {
        return Py_NewRef(value);
    }
    LazyChildren *lazy = (LazyChildren *)Py_NewRef(value);
    Reader r = {(const unsigned char *)PyBytes_AS_STRING(lazy->data),
                PyBytes_GET_SIZE(lazy->data), NULL};
    Py_ssize_t pos = lazy->start;
    PyObject *children = read_children(&r, &pos, lazy->depth);
    if (children != NULL) {
        if (*slot == value) {
            Py_SETREF(*slot, Py_NewRef(children)); /* drops the slot's LazyChildren */
        }
        else if (*slot != NULL && !Py_IS_TYPE(*slot, &LazyChildren_Type)) {
            /* Another thread decoded them meanwhile (the GC can switch threads): one tuple. */
            Py_SETREF(children, Py_NewRef(*slot));
        }
    }
    Py_DECREF(lazy);
    return children;
}

static PyObject *
children_field_get(ChildrenField *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL) {
        return Py_NewRef(self);
    }
    if (!PyObject_TypeCheck(obj, self->owner)) {
        return Py_TYPE(self->member)->tp_descr_get(self->member, obj, type); /* its error */
    }
    PyObject **slot = (PyObject **)((char *)obj + self->offset);
    if (*slot == NULL) {
        return Py_TYPE(self->member)->tp_descr_get(self->member, obj, type); /* AttributeError */
    }
    return materialized_children(slot);
}

static int
children_field_set(ChildrenField *self, PyObject *obj, PyObject *value)
{
    return Py_TYPE(self->member)->tp_descr_set(self->member, obj, value);
}

static void
children_field_dealloc(ChildrenField *self)
{
    Py_XDECREF(self->member);
    Py_XDECREF(self->owner);
    PyObject_Free(self);
}

static PyTypeObject ChildrenField_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "spanstream.schemas._speedups.ChildrenField",
    .tp_basicsize = sizeof(ChildrenField),
    .tp_dealloc = (destructor)children_field_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The span's children, a tuple (decoded from the message when first read).",
    .tp_descr_get = (descrgetfunc)children_field_get,
    .tp_descr_set = (descrsetfunc)children_field_set,
};

PyDoc_STRVAR(children_field_doc,
"children_field(member_descriptor, /)\n--\n\n"
"Return the data descriptor to install as ``Span.children`` in place of its slot's\n"
"``member_descriptor``: it reads and writes the same slot, and decodes the children of a\n"
"decoded tree when first read. decode_body leaves children undecoded only once it is\n"
"installed (configure() is given it as the children field's descriptor).");

static PyObject *
new_children_field(PyObject *module, PyObject *member)
{
    if (!Py_IS_TYPE(member, &PyMemberDescr_Type)) {
        PyErr_SetString(PyExc_TypeError, "children_field() takes a slot's member descriptor");
        return NULL;
    }
    PyMemberDescrObject *descr = (PyMemberDescrObject *)member;
    PyTypeObject *owner = descr->d_common.d_type;
    PyMemberDef *def = descr->d_member;
    if (def->type != T_OBJECT_EX || def->offset <= 0 ||
        def->offset + (Py_ssize_t)sizeof(PyObject *) > owner->tp_basicsize) {
        PyErr_SetString(PyExc_TypeError, "children_field() takes an object slot's descriptor");
        return NULL;
    }
    ChildrenField *field = PyObject_New(ChildrenField, &ChildrenField_Type);
    if (field == NULL) {
        return NULL;
    }
    field->member = Py_NewRef(member);
    field->owner = (PyTypeObject *)Py_NewRef(owner);
    field->offset = def->offset;
    return (PyObject *)field;
}

static int
check_configured(void)
{
    if (span_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "spanstream.schemas._speedups is not configured");
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(decode_body_doc,
"decode_body(data, offset, /)\n--\n\n"
"Decode the current schema's body starting at ``offset``; it must end exactly at the end.\n\n"
"Raises the configured BodyError (truncated, malformed, too-deep or trailing-bytes).");

static PyObject *
decode_body(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_configured() < 0) {
        return NULL;
    }
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "decode_body(data, offset) takes two arguments");
        return NULL;
    }
    PyObject *data = args[0];
    if (!PyBytes_Check(data)) {
        PyErr_Format(PyExc_TypeError, "data must be bytes, not %.100s", Py_TYPE(data)->tp_name);
        return NULL;
    }
    Py_ssize_t offset = PyLong_AsSsize_t(args[1]);
    if (offset == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (offset < 0) {
        PyErr_SetString(PyExc_ValueError, "offset must not be negative");
        return NULL;
    }
    Reader r = {(const unsigned char *)PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), data};
    Py_ssize_t pos = offset; /* past the end: read_span reports the ids cut short */
    PyObject *span = read_span(&r, &pos, 0, children_field != NULL);
    if (span == NULL) {
        return NULL;
    }
    if (pos != r.size) {
        Py_DECREF(span);
        raise_body_error(
            "trailing-bytes", NULL, "%zd bytes follow the span", r.size - pos);
        return NULL;
    }
    return span;
}

/* ------------------------------------------------------------------------------------------ */
/* encoder                                                                                     */

typedef struct {
    char *buf;
    Py_ssize_t len;
    Py_ssize_t cap;
    char small[1024];
} Writer;

static int
writer_grow(Writer *w, Py_ssize_t need)
{
    if (need > PY_SSIZE_T_MAX / 2 - w->len) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t cap = w->cap * 2;
    while (cap < w->len + need) {
        cap *= 2;
    }
    char *buf;
    if (w->buf == w->small) {
        buf = PyMem_Malloc((size_t)cap);
        if (buf != NULL) {
            memcpy(buf, w->small, (size_t)w->len);
        }
    }
    else {
        buf = PyMem_Realloc(w->buf, (size_t)cap);
    }
    if (buf == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    w->buf = buf;
    w->cap = cap;
    return 0;
}

static inline int
writer_reserve(Writer *w, Py_ssize_t need)
{
    if (w->cap - w->len >= need) {
        return 0;
    }
    return writer_grow(w, need);
}

static inline int
write_bytes(Writer *w, const char *data, Py_ssize_t size)
{
    if (writer_reserve(w, size) < 0) {
        return -1;
    }
    memcpy(w->buf + w->len, data, (size_t)size);
    w->len += size;
    return 0;
}

static inline int
write_byte(Writer *w, unsigned char byte)
{
    if (writer_reserve(w, 1) < 0) {
        return -1;
    }
    w->buf[w->len++] = (char)byte;
    return 0;
}

static inline int
write_varint(Writer *w, uint64_t z)
{
    if (writer_reserve(w, 10) < 0) {
        return -1;
    }
    unsigned char *out = (unsigned char *)w->buf + w->len;
    Py_ssize_t n = 0;
    while (z > 0x7F) {
        out[n++] = (unsigned char)((z & 0x7F) | 0x80);
        z >>= 7;
    }
    out[n++] = (unsigned char)z;
    w->len += n;
    return 0;
}

static inline uint64_t
zigzag(int64_t n)
{
    return ((uint64_t)n << 1) ^ (n < 0 ? UINT64_MAX : 0);
}

static int
write_int64(Writer *w, int64_t n)
{
    return write_varint(w, zigzag(n));
}

static void
out_of_range(void)
{
    PyErr_SetString(encode_error,
                    "a long attribute or timestamp is outside the signed 64-bit range");
}

/* An int-like object (as Python's shifts would take it) as an Avro long. */
static int
write_long_object(Writer *w, PyObject *value)
{
    int overflow = 0;
    long long n = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow) {
        out_of_range();
        return -1;
    }
    if (n == -1 && PyErr_Occurred()) {
        return -1;
    }
    return write_int64(w, (int64_t)n);
}

static int
write_string(Writer *w, PyObject *s)
{
    if (!PyUnicode_CheckExact(s)) {
        PyErr_Format(encode_error, "expected a str, not %.100s: %R", Py_TYPE(s)->tp_name, s);
        return -1;
    }
    if (PyUnicode_IS_COMPACT_ASCII(s)) {
        Py_ssize_t size = PyUnicode_GET_LENGTH(s);
        if (write_int64(w, (int64_t)size) < 0) {
            return -1;
        }
        return write_bytes(w, (const char *)PyUnicode_DATA(s), size);
    }
    PyObject *encoded = PyUnicode_AsUTF8String(s);
    if (encoded == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            PyObject *type, *value, *tb;
            PyErr_Fetch(&type, &value, &tb);
            PyErr_NormalizeException(&type, &value, &tb);
            PyErr_Format(encode_error, "string %R cannot be encoded as UTF-8: %S", s, value);
            if (value != NULL) {
                PyObject *t2, *v2, *tb2;
                PyErr_Fetch(&t2, &v2, &tb2);
                PyErr_NormalizeException(&t2, &v2, &tb2);
                if (v2 != NULL) {
                    PyException_SetCause(v2, Py_NewRef(value));
                }
                PyErr_Restore(t2, v2, tb2);
            }
            Py_XDECREF(type);
            Py_XDECREF(value);
            Py_XDECREF(tb);
        }
        return -1;
    }
    Py_ssize_t size = PyBytes_GET_SIZE(encoded);
    int result = write_int64(w, (int64_t)size);
    if (result == 0) {
        result = write_bytes(w, PyBytes_AS_STRING(encoded), size);
    }
    Py_DECREF(encoded);
    return result;
}

/* A trace or span id: any bytes-like object, as b"".join takes it. */
static int
write_buffer(Writer *w, PyObject *value)
{
    if (PyBytes_CheckExact(value)) {
        return write_bytes(w, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value));
    }
    Py_buffer view;
    if (PyObject_GetBuffer(value, &view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    int result = write_bytes(w, (const char *)view.buf, view.len);
    PyBuffer_Release(&view);
    return result;
}

static int
write_double(Writer *w, double d)
{
    if (writer_reserve(w, 8) < 0) {
        return -1;
    }
    if (PyFloat_Pack8(d, w->buf + w->len, 1) < 0) {
        return -1;
    }
    w->len += 8;
    return 0;
}

static int
write_entry(Writer *w, PyObject *key, PyObject *value)
{
    if (PyUnicode_CheckExact(value)) {
        if (write_string(w, key) < 0 || write_byte(w, 0) < 0) {
            return -1;
        }
        return write_string(w, value);
    }
    if (PyLong_CheckExact(value)) {
        if (write_string(w, key) < 0 || write_byte(w, 2) < 0) {
            return -1;
        }
        return write_long_object(w, value);
    }
    if (PyFloat_CheckExact(value)) {
        if (write_string(w, key) < 0 || write_byte(w, 4) < 0) {
            return -1;
        }
        return write_double(w, PyFloat_AS_DOUBLE(value));
    }
    if (PyBool_Check(value)) {
        if (write_string(w, key) < 0 || write_byte(w, 6) < 0) {
            return -1;
        }
        return write_byte(w, value == Py_True ? 1 : 0);
    }
    /* A subclass of an attribute type: written as its base type, as fastavro would. */
    if (PyUnicode_Check(value)) {
        if (write_string(w, key) < 0 || write_byte(w, 0) < 0) {
            return -1;
        }
        PyObject *s = PyObject_Str(value);
        if (s == NULL) {
            return -1;
        }
        int result = write_string(w, s);
        Py_DECREF(s);
        return result;
    }
    if (PyLong_Check(value)) {
        if (write_string(w, key) < 0 || write_byte(w, 2) < 0) {
            return -1;
        }
        PyObject *n = PyNumber_Long(value);
        if (n == NULL) {
            return -1;
        }
        int result = write_long_object(w, n);
        Py_DECREF(n);
        return result;
    }
    if (PyFloat_Check(value)) {
        if (write_string(w, key) < 0 || write_byte(w, 4) < 0) {
            return -1;
        }
        return write_double(w, PyFloat_AS_DOUBLE(value));
    }
    PyErr_Format(encode_error,
                 "attribute %R: values must be str, int, float or bool, not %.100s", key,
                 Py_TYPE(value)->tp_name);
    return -1;
}

static int
write_attributes(Writer *w, PyObject *attributes)
{
    int truth = PyObject_IsTrue(attributes);
    if (truth <= 0) {
        return truth;
    }
    Py_ssize_t count = PyObject_Size(attributes);
    if (count < 0 || write_int64(w, (int64_t)count) < 0) {
        return -1;
    }
    if (PyDict_CheckExact(attributes)) {
        Py_ssize_t i = 0;
        PyObject *key, *value;
        while (PyDict_Next(attributes, &i, &key, &value)) {
            Py_INCREF(key);
            Py_INCREF(value);
            int result = write_entry(w, key, value);
            Py_DECREF(key);
            Py_DECREF(value);
            if (result < 0) {
                return -1;
            }
        }
        return 0;
    }
    PyObject *items = PyObject_CallMethodNoArgs(attributes, str_items);
    if (items == NULL) {
        return -1;
    }
    PyObject *iterator = PyObject_GetIter(items);
    Py_DECREF(items);
    if (iterator == NULL) {
        return -1;
    }
    PyObject *item;
    int result = 0;
    while ((item = PyIter_Next(iterator)) != NULL) {
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
            PyErr_SetString(PyExc_ValueError, "attribute items must be (key, value) pairs");
            result = -1;
        }
        else {
            result = write_entry(w, PyTuple_GET_ITEM(item, 0), PyTuple_GET_ITEM(item, 1));
        }
        Py_DECREF(item);
        if (result < 0) {
            break;
        }
    }
    Py_DECREF(iterator);
    if (result == 0 && PyErr_Occurred()) {
        result = -1;
    }
    return result;
}

static int write_span(Writer *w, PyObject *span, int depth);

static int
write_children(Writer *w, PyObject *children, int depth)
{
    int truth = PyObject_IsTrue(children);
    if (truth <= 0) {
        return truth;
    }
    if (depth >= max_depth) {
        PyErr_Format(too_deep_error, "span children nest deeper than %d levels", max_depth);
        return -1;
    }
    Py_ssize_t count = PyObject_Size(children);
    if (count < 0 || write_int64(w, (int64_t)count) < 0) {
        return -1;
    }
    if (PyTuple_CheckExact(children)) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(children); i++) {
            if (write_span(w, PyTuple_GET_ITEM(children, i), depth + 1) < 0) {
                return -1;
            }
        }
        return 0;
    }
    PyObject *iterator = PyObject_GetIter(children);
    if (iterator == NULL) {
        return -1;
    }
    PyObject *child;
    int result = 0;
    while ((child = PyIter_Next(iterator)) != NULL) {
        result = write_span(w, child, depth + 1);
        Py_DECREF(child);
        if (result < 0) {
            break;
        }
    }
    Py_DECREF(iterator);
    if (result == 0 && PyErr_Occurred()) {
        result = -1;
    }
    return result;
}

static int
write_span(Writer *w, PyObject *span, int depth)
{
    PyObject *values[N_FIELDS] = {NULL};
    int result = -1;
    int exact = Py_TYPE(span) == span_type;
    for (int i = 0; i < N_FIELDS; i++) {
        if (exact && i == F_CHILDREN && children_field != NULL) {
            values[i] = children_field_get(children_field, span, (PyObject *)span_type);
        }
        else if (exact) {
            PyObject *descr = descriptors[i];
            values[i] = Py_TYPE(descr)->tp_descr_get(descr, span, (PyObject *)span_type);
        }
        else {
            values[i] = PyObject_GetAttr(span, field_names[i]);
        }
        if (values[i] == NULL) {
            goto done;
        }
    }
    if (write_buffer(w, values[F_TRACE]) < 0 || write_buffer(w, values[F_SPAN]) < 0 ||
        write_string(w, values[F_SCOPE]) < 0 || write_string(w, values[F_NAME]) < 0 ||
        write_long_object(w, values[F_START]) < 0 || write_long_object(w, values[F_END]) < 0 ||
        write_attributes(w, values[F_ATTRIBUTES]) < 0 || write_byte(w, 0) < 0 ||
        write_children(w, values[F_CHILDREN], depth) < 0 || write_byte(w, 0) < 0) {
        goto done;
    }
    result = 0;
done:
    for (int i = 0; i < N_FIELDS; i++) {
        Py_XDECREF(values[i]);
    }
    return result;
}

PyDoc_STRVAR(encode_framed_doc,
"encode_framed(span, header, /)\n--\n\n"
"Return ``header`` followed by the Avro binary body of ``span``.\n\n"
"Raises the configured EncodeError (or SpanTooDeepError) when a value does not fit.");

static PyObject *
encode_framed(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_configured() < 0) {
        return NULL;
    }
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "encode_framed(span, header) takes two arguments");
        return NULL;
    }
    PyObject *header = args[1];
    if (!PyBytes_Check(header)) {
        PyErr_Format(PyExc_TypeError, "header must be bytes, not %.100s",
                     Py_TYPE(header)->tp_name);
        return NULL;
    }
    Writer w;
    w.buf = w.small;
    w.len = 0;
    w.cap = (Py_ssize_t)sizeof(w.small);
    PyObject *result = NULL;
    if (write_bytes(&w, PyBytes_AS_STRING(header), PyBytes_GET_SIZE(header)) == 0 &&
        write_span(&w, args[0], 0) == 0) {
        result = PyBytes_FromStringAndSize(w.buf, w.len);
    }
    if (w.buf != w.small) {
        PyMem_Free(w.buf);
    }
    if (result == NULL && PyErr_Occurred() && !PyErr_ExceptionMatches(encode_error) &&
        (PyErr_ExceptionMatches(PyExc_AttributeError) ||
         PyErr_ExceptionMatches(PyExc_TypeError) || PyErr_ExceptionMatches(PyExc_ValueError) ||
         PyErr_ExceptionMatches(PyExc_OverflowError))) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (tb != NULL && value != NULL) {
            PyException_SetTraceback(value, tb);
        }
        PyErr_Format(encode_error, "span cannot be encoded: %S", value);
        PyObject *t2, *v2, *tb2;
        PyErr_Fetch(&t2, &v2, &tb2);
        PyErr_NormalizeException(&t2, &v2, &tb2);
        if (v2 != NULL && value != NULL) {
            PyException_SetCause(v2, Py_NewRef(value));
        }
        PyErr_Restore(t2, v2, tb2);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
    }
    return result;
}

/* ------------------------------------------------------------------------------------------ */
/* configuration                                                                               */

PyDoc_STRVAR(configure_doc,
"configure(span_type, field_names, descriptors, body_error, encode_error, too_deep_error,\n"
"          empty_attributes, max_depth, /)\n--\n\n"
"Hand over the Span class, its 8 field names and slot descriptors (in Span's positional\n"
"order), the exception classes, the shared empty attributes proxy and MAX_SPAN_DEPTH.");

static PyObject *
configure(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "configure() takes 8 arguments");
        return NULL;
    }
    PyObject *type = args[0], *names = args[1], *descrs = args[2];
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "span_type must be a class");
        return NULL;
    }
    if (!PyTuple_Check(names) || PyTuple_GET_SIZE(names) != N_FIELDS || !PyTuple_Check(descrs) ||
        PyTuple_GET_SIZE(descrs) != N_FIELDS) {
        PyErr_SetString(PyExc_TypeError, "field_names and descriptors must be 8-tuples");
        return NULL;
    }
    for (int i = 0; i < N_FIELDS; i++) {
        PyObject *descr = PyTuple_GET_ITEM(descrs, i);
        if (!PyUnicode_Check(PyTuple_GET_ITEM(names, i)) ||
            Py_TYPE(descr)->tp_descr_get == NULL || Py_TYPE(descr)->tp_descr_set == NULL) {
            PyErr_SetString(PyExc_TypeError, "descriptors must be data descriptors");
            return NULL;
        }
        if (PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(names, i),
                                             expected_field_names[i]) != 0) {
            PyErr_Format(PyExc_TypeError,
                         "Span's field %d is %R, but the C accelerator expects %s: update "
                         "schemas/_speedups.c with Span (or set SPANSTREAM_NO_SPEEDUPS=1)",
                         i, PyTuple_GET_ITEM(names, i), expected_field_names[i]);
            return NULL;
        }
    }
    for (int i = 3; i < 6; i++) {
        if (!PyType_Check(args[i]) ||
            !PyType_IsSubtype((PyTypeObject *)args[i], (PyTypeObject *)PyExc_Exception)) {
            PyErr_SetString(PyExc_TypeError, "the error classes must be exception classes");
            return NULL;
        }
    }
    long depth = PyLong_AsLong(args[7]);
    if (depth == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (depth < 0 || depth > 100000) {
        PyErr_SetString(PyExc_ValueError, "max_depth out of range");
        return NULL;
    }
    /* Span.children installed as a ChildrenField (children_field()): the decoder leaves a
     * tree's children undecoded, and sets the slot through the member descriptor it wraps. */
    PyObject *children = PyTuple_GET_ITEM(descrs, F_CHILDREN);
    ChildrenField *field = NULL;
    if (Py_IS_TYPE(children, &ChildrenField_Type)) {
        field = (ChildrenField *)children;
        if (field->owner != (PyTypeObject *)type) {
            PyErr_SetString(PyExc_TypeError, "the children field belongs to another class");
            return NULL;
        }
    }
    Py_XSETREF(span_type, (PyTypeObject *)Py_NewRef(type));
    for (int i = 0; i < N_FIELDS; i++) {
        PyObject *descr = PyTuple_GET_ITEM(descrs, i);
        if (i == F_CHILDREN && field != NULL) {
            descr = field->member;
        }
        Py_XSETREF(field_names[i], Py_NewRef(PyTuple_GET_ITEM(names, i)));
        Py_XSETREF(descriptors[i], Py_NewRef(descr));
    }
    Py_XSETREF(children_field, (ChildrenField *)Py_XNewRef((PyObject *)field));
    /* Plain object slots of the class (a slotted dataclass's, as Span is) are written
     * directly by new_span; anything else goes through its descriptor. */
    Py_ssize_t offsets[N_FIELDS];
    for (int i = 0; i < N_FIELDS; i++) {
        PyObject *descr = descriptors[i];
        offsets[i] = 0;
        if (Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
            ((PyMemberDescrObject *)descr)->d_common.d_type == (PyTypeObject *)type) {
            PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
            if (member->type == T_OBJECT_EX && !(member->flags & READONLY) &&
                member->offset > 0 &&
                member->offset + (Py_ssize_t)sizeof(PyObject *) <=
                    ((PyTypeObject *)type)->tp_basicsize) {
                offsets[i] = member->offset;
            }
        }
    }
    for (int i = 0; i < N_FIELDS; i++) {
        slot_offsets[i] = offsets[0] > 0 && offsets[i] > 0 ? offsets[i] : 0;
    }
    for (int i = 0; i < N_FIELDS; i++) {
        if (slot_offsets[i] == 0) {
            slot_offsets[0] = 0; /* one field without a plain slot: every field by descriptor */
        }
    }
    Py_XSETREF(body_error, Py_NewRef(args[3]));
    Py_XSETREF(encode_error, Py_NewRef(args[4]));
    Py_XSETREF(too_deep_error, Py_NewRef(args[5]));
    Py_XSETREF(empty_attributes, Py_NewRef(args[6]));
    max_depth = (int)depth;
    Py_RETURN_NONE;
}


/* ------------------------------------------------------------------------------------------ */
/* ids and the builder's fast path                                                            */

/* xoshiro256** (Blackman and Vigna): ids need uniqueness, not secrecy, as in _ids.py. Seeded
 * by seed_ids() from os.urandom, again in a forked child; the state changes under the GIL. */
static uint64_t id_state[4] = {0x9E3779B97F4A7C15u, 0xBF58476D1CE4E5B9u, 0x94D049BB133111EBu,
                               0x2545F4914F6CDD1Du};

static inline uint64_t
rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t
next_random(void)
{
    uint64_t *s = id_state;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

static inline uint64_t
next_nonzero(void)
{
    uint64_t value;
    do {
        value = next_random();
    } while (value == 0);
    return value;
}

static void
put_u64_be(unsigned char *out, uint64_t value)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(value & 0xFF);
        value >>= 8;
    }
}

static PyObject *
random_id(int size)
{
    unsigned char raw[16];
    put_u64_be(raw, next_nonzero()); /* a non-zero first word: the id is never all zero */
    if (size == 16) {
        put_u64_be(raw + 8, next_random());
    }
    return PyBytes_FromStringAndSize((const char *)raw, size);
}

PyDoc_STRVAR(seed_ids_doc,
"seed_ids(seed)\n--\n\n"
"Seed the id generator with 32 bytes (from os.urandom; again in a forked child).");

static PyObject *
seed_ids(PyObject *module, PyObject *seed)
{
    if (!PyBytes_Check(seed) || PyBytes_GET_SIZE(seed) != 32) {
        PyErr_SetString(PyExc_ValueError, "seed must be 32 bytes");
        return NULL;
    }
    const unsigned char *raw = (const unsigned char *)PyBytes_AS_STRING(seed);
    int all_zero = 1;
    for (int i = 0; i < 4; i++) {
        uint64_t word = 0;
        for (int j = 0; j < 8; j++) {
            word = (word << 8) | raw[i * 8 + j];
        }
        id_state[i] = word;
        all_zero &= word == 0;
    }
    if (all_zero) { /* the one state xoshiro never leaves */
        id_state[0] = 1;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(new_trace_id_doc,
"new_trace_id()\n--\n\nA random, non-zero 16-byte trace id.");

static PyObject *
new_trace_id(PyObject *module, PyObject *unused)
{
    return random_id(16);
}

PyDoc_STRVAR(new_span_id_doc,
"new_span_id()\n--\n\nA random, non-zero 8-byte span id.");

static PyObject *
new_span_id(PyObject *module, PyObject *unused)
{
    return random_id(8);
}

/* An exact int equal to 0 (the builder's setters admit only exact ints). */
static int
is_zero(PyObject *value)
{
    int overflow = 0;
    return PyLong_CheckExact(value) && PyLong_AsLongLongAndOverflow(value, &overflow) == 0 &&
           overflow == 0;
}

/* ------------------------------------------------------------------------------------------ */
/* SpanBuilder's hot methods                                                                  */

/* The builder's slots, in the order configure_builder() receives their descriptors. */
#define N_BUILDER_SLOTS 6
enum { B_SCOPE, B_NAME, B_START, B_END, B_ATTRIBUTES, B_CHILDREN };

static PyTypeObject *builder_type = NULL;
static Py_ssize_t builder_offsets[N_BUILDER_SLOTS];
static PyObject *py_new_builder = NULL;   /* SpanBuilder: the reference, for anything unusual */
static PyObject *py_set_attribute = NULL; /* SpanBuilder.set_attribute in Python: the same */

static inline PyObject **
builder_slot(PyObject *builder, int which)
{
    return (PyObject **)((char *)builder + builder_offsets[which]);
}

PyDoc_STRVAR(new_builder_doc,
"builder(scope, name)\n--\n\n"
"Start building a span, as Flink's Span.builder(Class, String): a SpanBuilder.");

static PyObject *
new_builder(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (builder_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "configure_builder() was not called");
        return NULL;
    }
    if (nargs != 2 || !PyUnicode_CheckExact(args[0]) || !PyUnicode_CheckExact(args[1])) {
        /* A class as the scope, a name that is not a str, a wrong count: the reference
         * converts or raises. */
        return PyObject_Vectorcall(py_new_builder, args, nargs, NULL);
    }
    PyObject *attributes = PyDict_New();
    if (attributes == NULL) {
        return NULL;
    }
    PyObject *children = PyList_New(0);
    if (children == NULL) {
        Py_DECREF(attributes);
        return NULL;
    }
    PyObject *builder = builder_type->tp_alloc(builder_type, 0);
    if (builder == NULL) {
        Py_DECREF(attributes);
        Py_DECREF(children);
        return NULL;
    }
    *builder_slot(builder, B_SCOPE) = Py_NewRef(args[0]);
    *builder_slot(builder, B_NAME) = Py_NewRef(args[1]);
    *builder_slot(builder, B_START) = Py_NewRef(Py_None);
    *builder_slot(builder, B_END) = Py_NewRef(Py_None);
    *builder_slot(builder, B_ATTRIBUTES) = attributes;
    *builder_slot(builder, B_CHILDREN) = children;
    return builder;
}

/* The time of a build in epoch milliseconds, as _span._now_millis(). */
static PyObject *
now_millis(void)
{
    struct timespec now;
    if (timespec_get(&now, TIME_UTC) != TIME_UTC) {
        PyErr_SetString(PyExc_OSError, "timespec_get() failed");
        return NULL;
    }
    return PyLong_FromLongLong((long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
}

/* The span's own attributes with the scope variables put over them (Flink's order: a
 * variable overwrites an attribute of the same key); the shared empty view when both are
 * empty. ``extra`` is NULL or an exact dict. */
static PyObject *
merged_attributes(PyObject *attributes, PyObject *extra)
{
    int has_extra = extra != NULL && PyDict_GET_SIZE(extra) > 0;
    if (!has_extra && PyDict_GET_SIZE(attributes) == 0) {
        return Py_NewRef(empty_attributes);
    }
    PyObject *merged = PyDict_Copy(attributes);
    if (merged == NULL) {
        return NULL;
    }
    if (has_extra && PyDict_Update(merged, extra) < 0) {
        Py_DECREF(merged);
        return NULL;
    }
    PyObject *view = PyDictProxy_New(merged);
    Py_DECREF(merged);
    return view;
}

/* Build one SpanBuilder (and its builder children, recursively) as SpanBuilder._build_at does.
 * Returns a new Span, NULL with an exception set, or a new reference to Py_None: something
 * unusual (a finished Span as a child, a subclass, a slot of an odd type, a tree too deep or a
 * builder containing itself) that the Python reference must do, so its errors stay its own.
 * ``extra`` and ``children_extra`` are NULL or exact dicts. */
static PyObject *
build_node(PyObject *builder, PyObject *extra, PyObject *children_extra, PyObject *trace_id,
           PyObject *span_id, int depth)
{
    PyObject *scope = *builder_slot(builder, B_SCOPE), *name = *builder_slot(builder, B_NAME);
    PyObject *start = *builder_slot(builder, B_START), *end = *builder_slot(builder, B_END);
    PyObject *attributes = *builder_slot(builder, B_ATTRIBUTES);
    PyObject *children = *builder_slot(builder, B_CHILDREN);
    if (scope == NULL || !PyUnicode_CheckExact(scope) || name == NULL ||
        !PyUnicode_CheckExact(name) || start == NULL ||
        (start != Py_None && !PyLong_CheckExact(start)) || end == NULL ||
        (end != Py_None && !PyLong_CheckExact(end)) || attributes == NULL ||
        !PyDict_CheckExact(attributes) || children == NULL || !PyList_CheckExact(children)) {
        Py_RETURN_NONE;
    }
    Py_ssize_t n_children = PyList_GET_SIZE(children);
    if (n_children > 0 && depth + 1 > max_depth) {
        Py_RETURN_NONE; /* the reference raises SpanTooDeepError */
    }
    PyObject *values[N_FIELDS] = {NULL};
    PyObject *span = NULL;
    values[F_SCOPE] = Py_NewRef(scope);
    values[F_NAME] = Py_NewRef(name);
    /* 0 means unset, as in Flink's SpanBuilder: the start becomes now, the end the start. */
    values[F_START] = start == Py_None || is_zero(start) ? now_millis() : Py_NewRef(start);
    if (values[F_START] == NULL) {
        goto done;
    }
    values[F_END] = Py_NewRef(end == Py_None || is_zero(end) ? values[F_START] : end);
    values[F_ATTRIBUTES] = merged_attributes(attributes, extra);
    if (values[F_ATTRIBUTES] == NULL) {
        goto done;
    }
    values[F_CHILDREN] = PyTuple_New(n_children);
    if (values[F_CHILDREN] == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n_children; i++) {
        /* Nothing here runs Python code, but hold the child anyway. */
        if (i >= PyList_GET_SIZE(children)) {
            span = Py_NewRef(Py_None);
            goto done;
        }
        PyObject *child_builder = Py_NewRef(PyList_GET_ITEM(children, i));
        PyObject *child = NULL;
        if (Py_IS_TYPE(child_builder, builder_type)) {
            PyObject *child_id = random_id(8);
            if (child_id != NULL) {
                child = build_node(child_builder, children_extra, children_extra, trace_id,
                                   child_id, depth + 1);
                Py_DECREF(child_id);
            }
        }
        else {
            child = Py_NewRef(Py_None); /* a finished Span (restamped), or anything else */
        }
        Py_DECREF(child_builder);
        if (child == NULL || child == Py_None) {
            span = child;
            goto done;
        }
        PyTuple_SET_ITEM(values[F_CHILDREN], i, child);
    }
    values[F_TRACE] = Py_NewRef(trace_id);
    values[F_SPAN] = Py_NewRef(span_id);
    span = new_span(values);
done:
    for (int i = 0; i < N_FIELDS; i++) {
        Py_XDECREF(values[i]);
    }
    return span;
}

PyDoc_STRVAR(build_tree_doc,
"build_tree(builder, extra, children_extra)\n--\n\n"
"SpanBuilder.build(extra_attributes=extra, children_extra_attributes=children_extra) without\n"
"given ids, for a builder whose children are builders (recursively): fresh random ids, one\n"
"trace id for the tree, the values checked as they were set. extra and children_extra are\n"
"None or dicts put over each span's own attributes (a variable wins; the children get\n"
"children_extra, by default extra). Returns None for anything else (a finished Span as a\n"
"child, a tree too deep, other mappings): the Python reference builds it.");

static PyObject *
build_tree(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_configured() < 0) {
        return NULL;
    }
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "build_tree() takes 3 arguments");
        return NULL;
    }
    PyObject *builder = args[0];
    PyObject *extra = args[1] == Py_None ? NULL : args[1];
    PyObject *children_extra = args[2] == Py_None ? extra : args[2];
    if (builder_type == NULL || !Py_IS_TYPE(builder, builder_type) ||
        (extra != NULL && !PyDict_CheckExact(extra)) ||
        (children_extra != NULL && !PyDict_CheckExact(children_extra))) {
        Py_RETURN_NONE;
    }
    PyObject *trace_id = random_id(16);
    if (trace_id == NULL) {
        return NULL;
    }
    PyObject *span_id = random_id(8);
    if (span_id == NULL) {
        Py_DECREF(trace_id);
        return NULL;
    }
    PyObject *span = build_node(builder, extra, children_extra, trace_id, span_id, 0);
    Py_DECREF(trace_id);
    Py_DECREF(span_id);
    return span;
}

PyDoc_STRVAR(set_attribute_doc,
"set_attribute($self, key, value, /)\n--\n\n"
"Set one attribute; a later value for the same key replaces the earlier one.");

static PyObject *
builder_set_attribute(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs == 2 && kwnames == NULL && Py_IS_TYPE(self, builder_type) &&
        PyUnicode_CheckExact(args[0])) {
        PyObject *value = args[1];
        PyTypeObject *type = Py_TYPE(value);
        int fits = type == &PyUnicode_Type || type == &PyFloat_Type || type == &PyBool_Type;
        if (type == &PyLong_Type) {
            int overflow = 0;
            long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
            if (v == -1 && PyErr_Occurred()) {
                return NULL;
            }
            fits = !overflow;
        }
        PyObject *attributes = *builder_slot(self, B_ATTRIBUTES);
        if (fits && attributes != NULL && PyDict_CheckExact(attributes)) {
            if (PyDict_SetItem(attributes, args[0], value) < 0) {
                return NULL;
            }
            return Py_NewRef(self);
        }
    }
    /* Anything else (a bad key or value, keywords, a subclass): the reference raises the
     * error or does it. */
    Py_ssize_t total = nargs + (kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0);
    PyObject *small[3];
    PyObject **stack = small;
    if (total > 2) {
        stack = PyMem_Malloc((size_t)(total + 1) * sizeof(PyObject *));
        if (stack == NULL) {
            return PyErr_NoMemory();
        }
    }
    stack[0] = self;
    for (Py_ssize_t i = 0; i < total; i++) {
        stack[i + 1] = args[i];
    }
    PyObject *result = PyObject_Vectorcall(py_set_attribute, stack, nargs + 1, kwnames);
    if (stack != small) {
        PyMem_Free(stack);
    }
    return result;
}

static PyMethodDef set_attribute_def = {
    "set_attribute", (PyCFunction)(void (*)(void))builder_set_attribute,
    METH_FASTCALL | METH_KEYWORDS, set_attribute_doc};

static PyObject *py_add_child = NULL; /* SpanBuilder.add_child in Python: the reference */

PyDoc_STRVAR(add_child_doc,
"add_child($self, child, /)\n--\n\n"
"Nest a child span (a builder, built with this one, or a finished span).");

static PyObject *
builder_add_child(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs == 1 && kwnames == NULL && Py_IS_TYPE(self, builder_type) &&
        (Py_IS_TYPE(args[0], builder_type) ||
         (span_type != NULL && Py_IS_TYPE(args[0], span_type)))) {
        PyObject *children = *builder_slot(self, B_CHILDREN);
        if (children != NULL && PyList_CheckExact(children)) {
            if (PyList_Append(children, args[0]) < 0) {
                return NULL;
            }
            return Py_NewRef(self);
        }
    }
    /* Anything else (a subclass, a wrong type, keywords): the reference does it or raises. */
    if (kwnames == NULL && nargs <= 2) {
        PyObject *stack[3] = {self, nargs > 0 ? args[0] : NULL, nargs > 1 ? args[1] : NULL};
        return PyObject_Vectorcall(py_add_child, stack, nargs + 1, NULL);
    }
    PyObject *bound = PyMethod_New(py_add_child, self);
    if (bound == NULL) {
        return NULL;
    }
    PyObject *result = PyObject_Vectorcall(bound, args, nargs, kwnames);
    Py_DECREF(bound);
    return result;
}

static PyMethodDef add_child_def = {
    "add_child", (PyCFunction)(void (*)(void))builder_add_child, METH_FASTCALL | METH_KEYWORDS,
    add_child_doc};

PyDoc_STRVAR(configure_add_child_doc,
"configure_add_child(add_child)\n--\n\n"
"Hand over SpanBuilder.add_child (the reference, for anything unusual) once configure_builder()\n"
"ran; return the C add_child as a method descriptor of SpanBuilder.");

static PyObject *
configure_add_child(PyObject *module, PyObject *add_child)
{
    if (builder_type == NULL || !PyCallable_Check(add_child)) {
        PyErr_SetString(PyExc_TypeError, "configure_builder() first, then a callable");
        return NULL;
    }
    PyObject *descriptor = PyDescr_NewMethod(builder_type, &add_child_def);
    if (descriptor == NULL) {
        return NULL;
    }
    Py_XSETREF(py_add_child, Py_NewRef(add_child));
    return descriptor;
}

PyDoc_STRVAR(configure_builder_doc,
"configure_builder(builder_type, slot_descriptors, new_builder, set_attribute)\n--\n\n"
"Hand over SpanBuilder, the member descriptors of its slots (_scope, _name, _start, _end,\n"
"_attributes, _children) and its reference constructor and set_attribute; return the C\n"
"set_attribute as a method descriptor of SpanBuilder.");

static PyObject *
configure_builder(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyType_Check(args[0]) || !PyTuple_Check(args[1]) ||
        PyTuple_GET_SIZE(args[1]) != N_BUILDER_SLOTS || !PyCallable_Check(args[2]) ||
        !PyCallable_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "configure_builder(type, 6 descriptors, callable, "
                                         "callable) expected");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)args[0];
    Py_ssize_t offsets[N_BUILDER_SLOTS];
    for (int i = 0; i < N_BUILDER_SLOTS; i++) {
        PyObject *descr = PyTuple_GET_ITEM(args[1], i);
        if (!Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
            PyErr_SetString(PyExc_TypeError, "the builder's slots must be member descriptors");
            return NULL;
        }
        PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type != T_OBJECT_EX || member->offset <= 0 ||
            member->offset + (Py_ssize_t)sizeof(PyObject *) > type->tp_basicsize ||
            ((PyMemberDescrObject *)descr)->d_common.d_type != type) {
            PyErr_SetString(PyExc_TypeError, "a builder slot is not an object slot of the type");
            return NULL;
        }
        offsets[i] = member->offset;
    }
    PyObject *descriptor = PyDescr_NewMethod(type, &set_attribute_def);
    if (descriptor == NULL) {
        return NULL;
    }
    Py_XSETREF(builder_type, (PyTypeObject *)Py_NewRef(type));
    memcpy(builder_offsets, offsets, sizeof(offsets));
    Py_XSETREF(py_new_builder, Py_NewRef(args[2]));
    Py_XSETREF(py_set_attribute, Py_NewRef(args[3]));
    return descriptor;
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_FASTCALL, configure_doc},
    {"decode_body", (PyCFunction)(void (*)(void))decode_body, METH_FASTCALL, decode_body_doc},
    {"encode_framed", (PyCFunction)(void (*)(void))encode_framed, METH_FASTCALL,
     encode_framed_doc},
    {"build_tree", (PyCFunction)(void (*)(void))build_tree, METH_FASTCALL, build_tree_doc},
    {"configure_builder", (PyCFunction)(void (*)(void))configure_builder, METH_FASTCALL,
     configure_builder_doc},
    {"configure_add_child", configure_add_child, METH_O, configure_add_child_doc},
    {"children_field", new_children_field, METH_O, children_field_doc},
    {"new_builder", (PyCFunction)(void (*)(void))new_builder, METH_FASTCALL, new_builder_doc},
    {"new_span_id", new_span_id, METH_NOARGS, new_span_id_doc},
    {"new_trace_id", new_trace_id, METH_NOARGS, new_trace_id_doc},
    {"seed_ids", seed_ids, METH_O, seed_ids_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "spanstream.schemas._speedups",
    "The span codec's hot paths in C; the pure-Python _decoder and _encoder are the reference.",
    -1,
    methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (str_items == NULL) {
        str_items = PyUnicode_InternFromString("items");
        if (str_items == NULL) {
            return NULL;
        }
    }
    if (PyType_Ready(&LazyChildren_Type) < 0 || PyType_Ready(&ChildrenField_Type) < 0) {
        return NULL;
    }
    return PyModule_Create(&module_def);
}
