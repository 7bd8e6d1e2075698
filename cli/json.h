/*
 * json.h -- a small strict JSON reader (RFC 8259) for the command line and
 * the tests, for input that may be hostile.
 *
 * Refused: invalid UTF-8 (overlong forms, UTF-16 surrogates, code points
 * past U+10FFFF, truncated sequences), a byte-order mark, control
 * characters (U+0000 .. U+001F) in strings, unknown escapes, lone or
 * unpaired surrogate escapes (\ud800 without \udc00 .. \udfff after it),
 * duplicate keys in an object (compared after decoding), nesting deeper than
 * JSON_MAX_DEPTH, more than max_values values, numbers outside the JSON
 * grammar (leading zeros, "+1", ".5", "1.", NaN, Infinity), numbers longer
 * than JSON_MAX_NUMBER characters or out of the range of a double, and
 * anything but white space after the value.  \u escapes are decoded to
 * UTF-8, surrogate pairs included; \u0000 is allowed (strings carry their
 * length, and are NUL-terminated as well).
 *
 * The work is O(n log n) in the input's length (the keys of each object
 * are sorted to find duplicates), the stack depth bounded by JSON_MAX_DEPTH,
 * the memory linear in the input.  No dependency beyond libc.
 */
#ifndef MEKIKI_JSON_H
#define MEKIKI_JSON_H

#include <stddef.h>

#define JSON_MAX_DEPTH 32
#define JSON_MAX_NUMBER 64
#define JSON_MAX_VALUES_DEFAULT (1u << 20)

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

typedef struct json_value json_value;
struct json_value {
	enum json_type type;
	int boolean;          /* JSON_BOOL */
	double number;        /* JSON_NUMBER */
	const char *str;      /* JSON_STRING: decoded, NUL-terminated; JSON_NUMBER: its text */
	size_t len;           /* ... its length in bytes */
	size_t count;         /* JSON_ARRAY, JSON_OBJECT: number of elements / members */
	json_value *child;    /* JSON_ARRAY, JSON_OBJECT: first element / member */
	json_value *next;     /* next element / member of the parent */
	const char *key;      /* a member of an object: its key (decoded, NUL-terminated) */
	size_t key_len;
	size_t off;           /* byte offset of the value in the input */
	size_t key_off;       /* byte offset of the key in the input */
};

typedef struct json_doc json_doc;

/* Where and why a parse failed. */
struct json_error {
	size_t off;               /* byte offset in the input */
	unsigned long line, col;  /* from 1; the column in characters */
	char msg[192];            /* "duplicate key \"a\" (first at 1:2)", "out of memory" */
};

/*
 * Parse text[0..len).  max_values bounds the values kept (0: the default).
 * Returns NULL on error, with err (may be NULL) filled.
 */
json_doc *json_parse(const char *text, size_t len, size_t max_values, struct json_error *err);
const json_value *json_root(const json_doc *doc);
void json_free(json_doc *doc);

/* The line and column (from 1, the column in characters) of a byte offset. */
void json_where(const char *text, size_t len, size_t off, unsigned long *line,
                unsigned long *col);

/* The member of an object named key (NUL-terminated), or NULL. */
const json_value *json_get(const json_value *obj, const char *key);

/* An integral number as a long long: 1 when v is one (no fraction, no exponent). */
int json_integer(const json_value *v, long long *out);

/* The name of a type, for messages ("string", "array", ...). */
const char *json_type_name(enum json_type t);

#endif
