/*
 * test_json.c -- unit tests of the command line's strict JSON reader
 * (cli/json.c), with libcheck.
 *
 * Expected values come from RFC 8259 and RFC 3629 (UTF-8) and from json.h's
 * list of what is refused: each refusal is checked with its message and
 * its line:column, counted by hand in the literals below.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Parse a literal (its length without the terminating NUL). */
static json_doc *parse(const char *s, struct json_error *e)
{
	return json_parse(s, strlen(s), 0, e);
}

/* The literal must be refused, at line:col, with a message containing what. */
static void refused_at(const char *s, size_t len, unsigned long line, unsigned long col,
                       const char *what)
{
	struct json_error e;
	json_doc *d = json_parse(s, len, 0, &e);
	if (d)
		json_free(d);
	ck_assert_msg(d == NULL, "accepted: %s", s);
	ck_assert_msg(strstr(e.msg, what) != NULL, "message \"%s\" for %s: \"%s\" expected", e.msg, s,
	              what);
	ck_assert_msg(e.line == line && e.col == col, "position %lu:%lu for %s: %lu:%lu expected",
	              e.line, e.col, s, line, col);
}

#define REFUSED(s, line, col, what) refused_at(s, sizeof(s) - 1, line, col, what)

START_TEST(test_values)
{
	struct json_error e;
	json_doc *d = parse(" {\"a\": [1, -2.5e1, true, false, null, \"x\"], \"b\": {}, \"c\": []}\r\n", &e);
	ck_assert_msg(d != NULL, "%s", e.msg);
	const json_value *r = json_root(d);
	ck_assert_int_eq(r->type, JSON_OBJECT);
	ck_assert_uint_eq(r->count, 3);
	const json_value *a = json_get(r, "a");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->type, JSON_ARRAY);
	ck_assert_uint_eq(a->count, 6);
	const json_value *v = a->child;
	ck_assert_int_eq(v->type, JSON_NUMBER);
	ck_assert(v->number == 1.0);
	long long i;
	ck_assert(json_integer(v, &i) && i == 1);
	v = v->next;
	ck_assert(v->number == -25.0);
	ck_assert(!json_integer(v, &i)); /* an exponent: not written as an integer */
	v = v->next;
	ck_assert(v->type == JSON_BOOL && v->boolean == 1);
	v = v->next;
	ck_assert(v->type == JSON_BOOL && v->boolean == 0);
	v = v->next;
	ck_assert_int_eq(v->type, JSON_NULL);
	v = v->next;
	ck_assert(v->type == JSON_STRING && v->len == 1 && strcmp(v->str, "x") == 0);
	ck_assert_ptr_null(v->next);
	ck_assert_int_eq(json_get(r, "b")->type, JSON_OBJECT);
	ck_assert_uint_eq(json_get(r, "b")->count, 0);
	ck_assert_ptr_null(json_get(r, "d"));
	/* offsets of a value and of its key */
	ck_assert_uint_eq(json_get(r, "b")->key_off, 44);
	ck_assert_uint_eq(json_get(r, "b")->off, 49);
	json_free(d);
}
END_TEST

START_TEST(test_escapes)
{
	struct json_error e;
	/* \" \\ \/ \b \f \n \r \t, U+00E9, U+3042, U+1F600 as a surrogate pair, U+0000 */
	json_doc *d = parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u3042\\uD83D\\uDE00\\u0000z\"", &e);
	ck_assert_msg(d != NULL, "%s", e.msg);
	const json_value *v = json_root(d);
	static const char want[] = "\"\\/\b\f\n\r\t\xC3\xA9\xE3\x81\x82\xF0\x9F\x98\x80\0z";
	ck_assert_uint_eq(v->len, sizeof want - 1);
	ck_assert(memcmp(v->str, want, sizeof want - 1) == 0);
	ck_assert(v->str[v->len] == '\0');
	json_free(d);
	/* UTF-8 as written, up to U+10FFFF */
	d = parse("\"\xC2\x80 \xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 \xF0\x90\x80\x80 \xF4\x8F\xBF\xBF\"", &e);
	ck_assert_msg(d != NULL, "%s", e.msg);
	json_free(d);
}
END_TEST

START_TEST(test_refused_strings)
{
	REFUSED("\"a\x01\"", 1, 3, "control character U+0001");
	REFUSED("[\"\n\"]", 1, 3, "control character U+000A");
	REFUSED("\"a\\ud800\"", 1, 3, "lone high surrogate \\ud800");
	REFUSED("\"\\ud800\\u0041\"", 1, 2, "lone high surrogate");
	REFUSED("\"\\ud800\\ud800\"", 1, 2, "lone high surrogate");
	REFUSED("\"\\udc00\\ud800\"", 1, 2, "lone low surrogate \\udc00");
	REFUSED("\"\\u12\"", 1, 2, "four hexadecimal digits");
	REFUSED("\"\\x41\"", 1, 2, "unknown escape \\x");
	REFUSED("\"abc", 1, 1, "unterminated string");
	REFUSED("\"\xC0\xAF\"", 1, 2, "invalid UTF-8 (byte 0xc0)");         /* overlong '/' */
	REFUSED("\"\xE0\x80\xAF\"", 1, 2, "invalid UTF-8 (byte 0xe0)");     /* overlong */
	REFUSED("\"\xED\xA0\x80\"", 1, 2, "invalid UTF-8 (byte 0xed)");     /* U+D800 */
	REFUSED("\"\xF4\x90\x80\x80\"", 1, 2, "invalid UTF-8 (byte 0xf4)"); /* U+110000 */
	REFUSED("\"\xE3\x81\"", 1, 2, "invalid UTF-8 (byte 0xe3)");         /* cut short */
	REFUSED("\"\x80\"", 1, 2, "invalid UTF-8 (byte 0x80)");
	REFUSED("\"\xFF\"", 1, 2, "invalid UTF-8 (byte 0xff)");
	/* columns count characters: あ is one */
	REFUSED("\"\xE3\x81\x82\x01\"", 1, 3, "control character");
	/* a NUL byte, written raw */
	REFUSED("\"a\0\"", 1, 3, "control character U+0000");
}
END_TEST

START_TEST(test_refused_structure)
{
	REFUSED("{\"a\": 1, \"a\": 2}", 1, 10, "duplicate key \"a\" (first at 1:2)");
	REFUSED("{\"a\": 1,\n \"\\u0061\": 2}", 2, 2, "duplicate key \"a\" (first at 1:2)");
	REFUSED("{\"b\": 1, \"a\": 2, \"c\": {\"a\": 1}, \"b\": 3}", 1, 33, "duplicate key \"b\"");
	REFUSED("{\"a\": 1} x", 1, 10, "trailing characters");
	REFUSED("[1] [2]", 1, 5, "trailing characters");
	REFUSED("[1,]", 1, 4, "unexpected ']' (expected a value)");
	REFUSED("{\"a\": 1,}", 1, 9, "unexpected '}' (expected a key in double quotes)");
	REFUSED("{\"a\" 1}", 1, 6, "unexpected '1' (expected ':')");
	REFUSED("{a: 1}", 1, 2, "expected a key in double quotes");
	REFUSED("[1 2]", 1, 4, "expected ',' or ']'");
	REFUSED("", 1, 1, "unexpected end of input (expected a value)");
	REFUSED("  \n ", 2, 2, "unexpected end of input");
	REFUSED("[", 1, 2, "unexpected end of input");
	REFUSED("\xEF\xBB\xBF{}", 1, 1, "byte-order mark");
	REFUSED("tru", 1, 1, "unexpected 't'");
	REFUSED("nul", 1, 1, "unexpected 'n'");
	REFUSED("NaN", 1, 1, "unexpected 'N'");
	REFUSED("'a'", 1, 1, "unexpected '''");
	REFUSED("[1]\0", 1, 4, "trailing characters");
}
END_TEST

START_TEST(test_numbers)
{
	REFUSED("01", 1, 1, "leading zero");
	REFUSED("-", 1, 1, "a digit must follow '-'");
	REFUSED("+1", 1, 1, "unexpected '+'");
	REFUSED(".5", 1, 1, "unexpected '.'");
	REFUSED("1.", 1, 1, "a digit must follow '.'");
	REFUSED("1e", 1, 1, "a digit must follow the exponent");
	REFUSED("[1e999]", 1, 2, "number out of range");
	REFUSED("[-1e999]", 1, 2, "number out of range");
	REFUSED("[0x10]", 1, 3, "expected ',' or ']'");
	char longnum[JSON_MAX_NUMBER + 2];
	memset(longnum, '1', JSON_MAX_NUMBER + 1);
	longnum[JSON_MAX_NUMBER + 1] = '\0';
	refused_at(longnum, JSON_MAX_NUMBER + 1, 1, 1, "number longer than 64 characters");
	longnum[JSON_MAX_NUMBER] = '\0'; /* exactly the bound: accepted */
	struct json_error e;
	json_doc *d = parse(longnum, &e);
	ck_assert_msg(d != NULL, "%s", e.msg);
	json_free(d);
	d = parse("[0, -0, 1E+2, 1e-400, 9223372036854775807, 9223372036854775808]", &e);
	ck_assert_msg(d != NULL, "%s", e.msg);
	const json_value *v = json_root(d)->child;
	long long i;
	ck_assert(json_integer(v, &i) && i == 0);
	v = v->next->next;
	ck_assert(v->number == 100.0);
	v = v->next;
	ck_assert(v->number == 0.0); /* underflows to zero: accepted */
	v = v->next;
	ck_assert(json_integer(v, &i) && i == 9223372036854775807LL);
	ck_assert(!json_integer(v->next, &i)); /* past long long */
	json_free(d);
}
END_TEST

START_TEST(test_bounds)
{
	char deep[2 * JSON_MAX_DEPTH + 3];
	/* JSON_MAX_DEPTH levels: accepted */
	memset(deep, '[', JSON_MAX_DEPTH);
	memset(deep + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
	deep[2 * JSON_MAX_DEPTH] = '\0';
	struct json_error e;
	json_doc *d = parse(deep, &e);
	ck_assert_msg(d != NULL, "%s", e.msg);
	json_free(d);
	/* one more: refused at the innermost '[' */
	memset(deep, '[', JSON_MAX_DEPTH + 1);
	memset(deep + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
	deep[2 * JSON_MAX_DEPTH + 2] = '\0';
	refused_at(deep, strlen(deep), 1, JSON_MAX_DEPTH + 1, "nested deeper than 32 levels");
	/* a million '[' (no recursion past the bound, no stack overflow) */
	size_t n = 1000000;
	char *big = malloc(n);
	ck_assert_ptr_nonnull(big);
	memset(big, '[', n);
	refused_at(big, n, 1, JSON_MAX_DEPTH + 1, "nested deeper");
	free(big);
	/* the bound on values */
	d = json_parse("[1, 2, 3]", 9, 3, &e);
	ck_assert_ptr_null(d);
	ck_assert_msg(strstr(e.msg, "more than 3 values") && e.col == 8, "%s at %lu", e.msg, e.col);
	d = json_parse("[1, 2]", 6, 3, &e);
	ck_assert_ptr_nonnull(d);
	json_free(d);
}
END_TEST

/* An object of many keys: duplicates found among them all (sorted, not
 * compared pairwise), the last one a duplicate of the first. */
START_TEST(test_many_keys)
{
	size_t keys = 200000;
	char *s = malloc(keys * 16 + 32);
	ck_assert_ptr_nonnull(s);
	size_t n = 0;
	s[n++] = '{';
	for (size_t i = 0; i < keys; i++)
		n += (size_t)sprintf(s + n, "%s\"k%zu\":0", i ? "," : "", i);
	s[n++] = '}';
	struct json_error e;
	json_doc *d = json_parse(s, n, 0, &e);
	ck_assert_msg(d != NULL, "%s", e.msg);
	ck_assert_uint_eq(json_root(d)->count, keys);
	ck_assert_ptr_nonnull(json_get(json_root(d), "k199999"));
	json_free(d);
	n--; /* replace the '}' */
	size_t at = n + 1;
	n += (size_t)sprintf(s + n, ",\"k0\":1}");
	d = json_parse(s, n, 0, &e);
	ck_assert_ptr_null(d);
	ck_assert_msg(strstr(e.msg, "duplicate key \"k0\" (first at 1:2)") && e.col == at + 1,
	              "%s at %lu", e.msg, e.col);
	free(s);
}
END_TEST

START_TEST(test_where)
{
	unsigned long line, col;
	const char *t = "ab\n\xE3\x81\x82x\ny";
	json_where(t, strlen(t), 0, &line, &col);
	ck_assert(line == 1 && col == 1);
	json_where(t, strlen(t), 6, &line, &col); /* the x after あ */
	ck_assert(line == 2 && col == 2);
	json_where(t, strlen(t), 8, &line, &col);
	ck_assert(line == 3 && col == 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("reader");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_refused_strings);
	tcase_add_test(tc, test_refused_structure);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_many_keys);
	tcase_add_test(tc, test_where);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
