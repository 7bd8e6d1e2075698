/*
 * policy_case.h -- a case of the policy's golden table (tests/golden/README.md)
 * read from JSON, applied to the library, and its verdict printed or compared.
 * Shared by `mekiki policy` and the policy fuzz target.
 *
 * Every member is checked: an unknown member or a value of the wrong type
 * is an error with the offset of the value at fault, so that a typo cannot
 * make a case test nothing.
 */
#ifndef MEKIKI_POLICY_CASE_H
#define MEKIKI_POLICY_CASE_H

#include <stdio.h>

#include "json.h"
#include "mekiki.h"

struct pc_err {
	char msg[512];
	size_t off; /* byte offset in the JSON text of the value at fault */
};

struct pc_case {
	const char *name;             /* NULL when absent */
	const json_value *view, *bounds, *expect, *hosts; /* NULL when absent */
	int use_brands, use_lures, use_tld, use_asn; /* the maps' switches (1 unless "maps" says false) */
};

/*
 * Read root: a whole case (an object with a "view" member) or a view alone.
 * With golden set, root must be a whole case with "name" and "expect".
 * Checks every member (the view's, bounds' names and types, expect's and
 * hosts' shapes); returns 0, or -1 with e filled.
 */
int pc_read(const json_value *root, int golden, struct pc_case *c, struct pc_err *e);

/* Set the case's bounds on p: 0, or -1 with e filled (an unknown bound, a value out of range). */
int pc_apply_bounds(mekiki_policy *p, const json_value *bounds, struct pc_err *e);

/* Fill m (reset already) from a view read by pc_read: 0, or -1 with e filled. */
int pc_apply_view(mekiki_message *m, const json_value *view, struct pc_err *e);

/*
 * Print m's verdict (after mekiki_decide) as one JSON object: each symbol
 * -> {"factor", "options"}, in verdict order, then "hosts": [{"host",
 * "registrable", "tld", "link", "flags"}].
 */
void pc_print_verdict(FILE *f, const mekiki_message *m);

/*
 * Compare m's verdict with the case's expect (and hosts, when given): print
 * every difference to f, each line starting with prefix; returns their number.
 */
unsigned pc_compare(FILE *f, const char *prefix, const mekiki_message *m, const struct pc_case *c);

/* s[0..n) as a JSON string (quotes included); bytes of invalid UTF-8 as U+FFFD. */
void pc_print_string(FILE *f, const char *s, size_t n);

#endif
