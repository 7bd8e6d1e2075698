/*
 * json.c -- a small strict JSON reader (see json.h).
 *
 * Recursive descent, the depth bounded by JSON_MAX_DEPTH; values live in
 * blocks of an arena, decoded strings in one buffer of the input's size
 * (a string never decodes longer than it is written, quotes included).
 */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_VALUES 1024

struct block {
	struct block *next;
	size_t used;
	json_value v[BLOCK_VALUES];
};

struct json_doc {
	struct block *blocks;
	char *strings;
	json_value *root;
};

struct parser {
	const unsigned char *s;
	size_t len, pos;
	json_doc *doc;
	size_t nvalues, max_values;
	char *out;      /* next free byte of doc->strings */
	struct json_error *err;
	int failed;
	const json_value **keys; /* scratch for the duplicate check */
	size_t keys_cap;
};

static void fail_at(struct parser *p, size_t off, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = 1;
	if (!p->err)
		return;
	p->err->off = off;
	json_where((const char *)p->s, p->len, off, &p->err->line, &p->err->col);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
	va_end(ap);
}

static void fail_oom(struct parser *p)
{
	if (p->failed)
		return;
	p->failed = 1;
	if (p->err) {
		p->err->off = p->pos;
		json_where((const char *)p->s, p->len, p->pos, &p->err->line, &p->err->col);
		snprintf(p->err->msg, sizeof p->err->msg, "out of memory");
	}
}

void json_where(const char *text, size_t len, size_t off, unsigned long *line, unsigned long *col)
{
	unsigned long l = 1, c = 1;
	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++) {
		unsigned char b = (unsigned char)text[i];
		if (b == '\n') {
			l++;
			c = 1;
		} else if ((b & 0xC0) != 0x80) { /* not a continuation byte */
			c++;
		}
	}
	*line = l;
	*col = c;
}

static json_value *new_value(struct parser *p, enum json_type t, size_t off)
{
	if (p->nvalues >= p->max_values) {
		fail_at(p, off, "more than %zu values", p->max_values);
		return NULL;
	}
	struct block *b = p->doc->blocks;
	if (!b || b->used == BLOCK_VALUES) {
		b = malloc(sizeof *b);
		if (!b) {
			fail_oom(p);
			return NULL;
		}
		b->next = p->doc->blocks;
		b->used = 0;
		p->doc->blocks = b;
	}
	json_value *v = &b->v[b->used++];
	memset(v, 0, sizeof *v);
	v->type = t;
	v->off = off;
	p->nvalues++;
	return v;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		unsigned char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int hex4(const unsigned char *s, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned c = s[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return 0;
		v = v << 4 | d;
	}
	*out = v;
	return 1;
}

/* The length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0) /* overlong */
			return 0;
		if (c == 0xED && s[1] >= 0xA0) /* a UTF-16 surrogate */
			return 0;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90) /* overlong */
			return 0;
		if (c == 0xF4 && s[1] >= 0x90) /* past U+10FFFF */
			return 0;
		return 4;
	}
	return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xC0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xE0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*o++ = (char)(0xF0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3F));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	}
	return o;
}

/* A string at p->pos (on its opening quote): decoded into p->out. */
static int parse_string(struct parser *p, const char **str, size_t *len)
{
	const unsigned char *s = p->s;
	size_t i = p->pos + 1, n = p->len;
	char *start = p->out, *o = p->out;
	for (;;) {
		if (i >= n) {
			fail_at(p, p->pos, "unterminated string");
			return 0;
		}
		unsigned c = s[i];
		if (c == '"')
			break;
		if (c < 0x20) {
			fail_at(p, i, "control character U+%04X in a string (write it as \\u%04x)", c, c);
			return 0;
		}
		if (c == '\\') {
			if (i + 1 >= n) {
				fail_at(p, p->pos, "unterminated string");
				return 0;
			}
			unsigned e = s[i + 1];
			const char *simple = strchr("\"\\/bfnrt", (int)e);
			if (e && simple) {
				static const char map[] = "\"\\/\b\f\n\r\t";
				*o++ = map[simple - "\"\\/bfnrt"];
				i += 2;
				continue;
			}
			if (e != 'u') {
				if (e >= 0x20 && e < 0x7F)
					fail_at(p, i, "unknown escape \\%c", (int)e);
				else
					fail_at(p, i, "unknown escape (a backslash before byte 0x%02x)", e);
				return 0;
			}
			unsigned cp;
			if (i + 6 > n || !hex4(s + i + 2, &cp)) {
				fail_at(p, i, "\\u must be followed by four hexadecimal digits");
				return 0;
			}
			if (cp >= 0xDC00 && cp <= 0xDFFF) {
				fail_at(p, i, "lone low surrogate \\u%04x (no high surrogate before it)", cp);
				return 0;
			}
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				unsigned lo;
				if (i + 12 > n || s[i + 6] != '\\' || s[i + 7] != 'u' || !hex4(s + i + 8, &lo) ||
				    lo < 0xDC00 || lo > 0xDFFF) {
					fail_at(p, i, "lone high surrogate \\u%04x (not followed by a low surrogate "
					              "\\udc00 .. \\udfff)", cp);
					return 0;
				}
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				i += 6;
			}
			o = put_utf8(o, cp);
			i += 6;
			continue;
		}
		size_t k = utf8_seq(s + i, n - i);
		if (!k) {
			fail_at(p, i, "invalid UTF-8 (byte 0x%02x)", c);
			return 0;
		}
		memcpy(o, s + i, k);
		o += k;
		i += k;
	}
	*o++ = '\0';
	*str = start;
	*len = (size_t)(o - start) - 1;
	p->out = o;
	p->pos = i + 1;
	return 1;
}

static int is_digit(unsigned c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct parser *p, json_value *v)
{
	const unsigned char *s = p->s;
	size_t i = p->pos, n = p->len, start = p->pos;
	if (i < n && s[i] == '-')
		i++;
	if (i >= n || !is_digit(s[i])) {
		fail_at(p, start, "invalid number (a digit must follow '-')");
		return 0;
	}
	if (s[i] == '0') {
		i++;
		if (i < n && is_digit(s[i])) {
			fail_at(p, start, "invalid number (leading zero)");
			return 0;
		}
	} else {
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || !is_digit(s[i])) {
			fail_at(p, start, "invalid number (a digit must follow '.')");
			return 0;
		}
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || !is_digit(s[i])) {
			fail_at(p, start, "invalid number (a digit must follow the exponent)");
			return 0;
		}
		while (i < n && is_digit(s[i]))
			i++;
	}
	size_t len = i - start;
	if (len > JSON_MAX_NUMBER) {
		fail_at(p, start, "number longer than %d characters", JSON_MAX_NUMBER);
		return 0;
	}
	char buf[JSON_MAX_NUMBER + 1];
	memcpy(buf, s + start, len);
	buf[len] = '\0';
	errno = 0;
	double d = strtod(buf, NULL);
	if (!isfinite(d) || (errno == ERANGE && fabs(d) > 1.0)) {
		fail_at(p, start, "number out of range");
		return 0;
	}
	/* The text is kept for json_integer(), in the string buffer (it fits:
	 * the number is written with at least as many bytes). */
	memcpy(p->out, buf, len + 1);
	v->str = p->out;
	v->len = len;
	p->out += len + 1;
	v->number = d;
	p->pos = i;
	return 1;
}

static int by_key(const void *a, const void *b)
{
	const json_value *x = *(const json_value *const *)a, *y = *(const json_value *const *)b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);
	if (c)
		return c;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	/* equal keys: the later one last, so that it is the one reported */
	return x->key_off < y->key_off ? -1 : x->key_off > y->key_off;
}

static int check_duplicates(struct parser *p, const json_value *obj)
{
	if (obj->count < 2)
		return 1;
	if (obj->count > p->keys_cap) {
		const json_value **k = realloc(p->keys, obj->count * sizeof *k);
		if (!k) {
			fail_oom(p);
			return 0;
		}
		p->keys = k;
		p->keys_cap = obj->count;
	}
	size_t n = 0;
	for (const json_value *m = obj->child; m; m = m->next)
		p->keys[n++] = m;
	qsort(p->keys, n, sizeof *p->keys, by_key);
	for (size_t i = 1; i < n; i++) {
		const json_value *a = p->keys[i - 1], *b = p->keys[i];
		if (a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0) {
			unsigned long line, col;
			const json_value *first = a->key_off < b->key_off ? a : b;
			const json_value *later = a->key_off < b->key_off ? b : a;
			json_where((const char *)p->s, p->len, first->key_off, &line, &col);
			fail_at(p, later->key_off, "duplicate key \"%.*s\" (first at %lu:%lu)",
			        (int)(later->key_len > 64 ? 64 : later->key_len), later->key, line, col);
			return 0;
		}
	}
	return 1;
}

static int literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos >= n && memcmp(p->s + p->pos, word, n) == 0) {
		p->pos += n;
		return 1;
	}
	return 0;
}

static void unexpected(struct parser *p, const char *wanted)
{
	if (p->pos >= p->len) {
		fail_at(p, p->pos, "unexpected end of input (expected %s)", wanted);
		return;
	}
	unsigned c = p->s[p->pos];
	if (c > 0x20 && c < 0x7F)
		fail_at(p, p->pos, "unexpected '%c' (expected %s)", (int)c, wanted);
	else if (p->pos == 0 && p->len >= 3 && memcmp(p->s, "\xEF\xBB\xBF", 3) == 0)
		fail_at(p, p->pos, "byte-order mark (not allowed in JSON text)");
	else
		fail_at(p, p->pos, "unexpected byte 0x%02x (expected %s)", c, wanted);
}

static json_value *parse_value(struct parser *p, unsigned depth)
{
	skip_ws(p);
	size_t off = p->pos;
	if (p->pos >= p->len) {
		unexpected(p, "a value");
		return NULL;
	}
	unsigned c = p->s[p->pos];
	json_value *v;
	if (c == '{' || c == '[') {
		if (depth >= JSON_MAX_DEPTH) {
			fail_at(p, off, "nested deeper than %d levels", JSON_MAX_DEPTH);
			return NULL;
		}
		int obj = c == '{';
		v = new_value(p, obj ? JSON_OBJECT : JSON_ARRAY, off);
		if (!v)
			return NULL;
		p->pos++;
		skip_ws(p);
		char close = obj ? '}' : ']';
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			return v;
		}
		json_value **tail = &v->child;
		for (;;) {
			const char *key = NULL;
			size_t key_len = 0, key_off = 0;
			if (obj) {
				skip_ws(p);
				if (p->pos >= p->len || p->s[p->pos] != '"') {
					unexpected(p, "a key in double quotes");
					return NULL;
				}
				key_off = p->pos;
				if (!parse_string(p, &key, &key_len))
					return NULL;
				skip_ws(p);
				if (p->pos >= p->len || p->s[p->pos] != ':') {
					unexpected(p, "':'");
					return NULL;
				}
				p->pos++;
			}
			json_value *e = parse_value(p, depth + 1);
			if (!e)
				return NULL;
			e->key = key;
			e->key_len = key_len;
			e->key_off = key_off;
			*tail = e;
			tail = &e->next;
			v->count++;
			skip_ws(p);
			if (p->pos < p->len && p->s[p->pos] == ',') {
				p->pos++;
				continue;
			}
			if (p->pos < p->len && p->s[p->pos] == close) {
				p->pos++;
				break;
			}
			unexpected(p, obj ? "',' or '}'" : "',' or ']'");
			return NULL;
		}
		if (obj && !check_duplicates(p, v))
			return NULL;
		return v;
	}
	if (c == '"') {
		v = new_value(p, JSON_STRING, off);
		if (!v || !parse_string(p, &v->str, &v->len))
			return NULL;
		return v;
	}
	if (c == '-' || is_digit(c)) {
		v = new_value(p, JSON_NUMBER, off);
		if (!v || !parse_number(p, v))
			return NULL;
		return v;
	}
	if (literal(p, "true") || literal(p, "false")) {
		v = new_value(p, JSON_BOOL, off);
		if (v)
			v->boolean = c == 't';
		return v;
	}
	if (literal(p, "null"))
		return new_value(p, JSON_NULL, off);
	unexpected(p, "a value");
	return NULL;
}

json_doc *json_parse(const char *text, size_t len, size_t max_values, struct json_error *err)
{
	if (err)
		memset(err, 0, sizeof *err);
	json_doc *doc = calloc(1, sizeof *doc);
	char *strings = doc ? malloc(len + 1) : NULL;
	if (!strings) {
		free(doc);
		if (err) {
			err->line = err->col = 1;
			snprintf(err->msg, sizeof err->msg, "out of memory");
		}
		return NULL;
	}
	doc->strings = strings;
	struct parser p = {
		.s = (const unsigned char *)text, .len = len, .doc = doc,
		.max_values = max_values ? max_values : JSON_MAX_VALUES_DEFAULT,
		.out = strings, .err = err,
	};
	doc->root = parse_value(&p, 0);
	if (doc->root) {
		skip_ws(&p);
		if (p.pos < p.len)
			fail_at(&p, p.pos, "trailing characters after the JSON value");
	}
	free(p.keys);
	if (p.failed || !doc->root) {
		if (!p.failed)
			fail_oom(&p);
		json_free(doc);
		return NULL;
	}
	return doc;
}

const json_value *json_root(const json_doc *doc)
{
	return doc ? doc->root : NULL;
}

void json_free(json_doc *doc)
{
	if (!doc)
		return;
	for (struct block *b = doc->blocks, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(doc->strings);
	free(doc);
}

const json_value *json_get(const json_value *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	size_t n = strlen(key);
	for (const json_value *m = obj->child; m; m = m->next)
		if (m->key_len == n && memcmp(m->key, key, n) == 0)
			return m;
	return NULL;
}

int json_integer(const json_value *v, long long *out)
{
	if (!v || v->type != JSON_NUMBER)
		return 0;
	for (size_t i = 0; i < v->len; i++)
		if (v->str[i] == '.' || v->str[i] == 'e' || v->str[i] == 'E')
			return 0;
	errno = 0;
	char *end;
	long long x = strtoll(v->str, &end, 10);
	if (errno || *end)
		return 0;
	*out = x;
	return 1;
}

const char *json_type_name(enum json_type t)
{
	switch (t) {
	case JSON_NULL: return "null";
	case JSON_BOOL: return "boolean";
	case JSON_NUMBER: return "number";
	case JSON_STRING: return "string";
	case JSON_ARRAY: return "array";
	case JSON_OBJECT: return "object";
	}
	return "?";
}
