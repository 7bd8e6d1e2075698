/*
 * policy_case.c -- the golden table's cases, read, applied, printed and
 * compared (see policy_case.h and tests/golden/README.md).
 */
#include "policy_case.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define FACTOR_EPSILON 1e-6

static int fail(struct pc_err *e, size_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	e->off = off;
	return -1;
}

/* A key or string shortened for a message. */
#define SHORT(s, n) (int)((n) > 60 ? 60 : (n)), (s)

struct member {
	const char *name;
	enum json_type type;
	int required;
};

/* Every member of obj known to the table, of the right type; required ones present. */
static int check_members(const json_value *obj, const char *what, const struct member *tab,
                         size_t ntab, struct pc_err *e)
{
	if (obj->type != JSON_OBJECT)
		return fail(e, obj->off, "%s must be an object, not %s", what,
		            json_type_name(obj->type));
	for (const json_value *m = obj->child; m; m = m->next) {
		size_t i;
		for (i = 0; i < ntab; i++)
			if (strlen(tab[i].name) == m->key_len && memcmp(tab[i].name, m->key, m->key_len) == 0)
				break;
		if (i == ntab) {
			char known[256] = "";
			for (size_t k = 0; k < ntab; k++) {
				strncat(known, k ? ", " : "", sizeof known - strlen(known) - 1);
				strncat(known, tab[k].name, sizeof known - strlen(known) - 1);
			}
			return fail(e, m->key_off, "unknown member \"%.*s\" in %s (known: %s)",
			            SHORT(m->key, m->key_len), what, known);
		}
		if (m->type != tab[i].type)
			return fail(e, m->off, "\"%s\" in %s must be %s %s, not %s", tab[i].name, what,
			            tab[i].type == JSON_ARRAY || tab[i].type == JSON_OBJECT ? "an" : "a",
			            json_type_name(tab[i].type), json_type_name(m->type));
	}
	for (size_t i = 0; i < ntab; i++)
		if (tab[i].required && !json_get(obj, tab[i].name))
			return fail(e, obj->off, "%s has no \"%s\"", what, tab[i].name);
	return 0;
}

#define CHECK(obj, what, tab, e) check_members(obj, what, tab, sizeof tab / sizeof tab[0], e)

static const struct member view_members[] = {
	{"subject", JSON_STRING, 0},   {"parts", JSON_ARRAY, 0},    {"from", JSON_ARRAY, 0},
	{"from_header", JSON_STRING, 0}, {"reply_to", JSON_STRING, 0}, {"flags", JSON_ARRAY, 0},
	{"links", JSON_ARRAY, 0},      {"sender_ip", JSON_STRING, 0}, {"addresses", JSON_ARRAY, 0},
};
static const struct member address_members[] = {
	{"host", JSON_STRING, 1}, {"domain", JSON_STRING, 1}, {"addr", JSON_STRING, 1}};
static const struct member part_members[] = {{"text", JSON_STRING, 1}, {"raw", JSON_STRING, 0}};
static const struct member from_members[] = {{"name", JSON_STRING, 0}, {"addr", JSON_STRING, 0}};
static const struct member link_members[] = {
	{"url", JSON_STRING, 1}, {"host", JSON_STRING, 1}, {"shown", JSON_STRING, 0}};
static const struct member case_members[] = {
	{"name", JSON_STRING, 0}, {"why", JSON_STRING, 0},    {"bounds", JSON_OBJECT, 0},
	{"maps", JSON_OBJECT, 0}, {"view", JSON_OBJECT, 1},   {"expect", JSON_OBJECT, 0},
	{"hosts", JSON_ARRAY, 0},
};
static const struct member maps_members[] = {
	{"brands", JSON_BOOL, 0}, {"lures", JSON_BOOL, 0}, {"tld", JSON_BOOL, 0}, {"asn", JSON_BOOL, 0}};
static const struct member symbol_members[] = {{"factor", JSON_NUMBER, 1},
                                               {"options", JSON_ARRAY, 1}};
static const struct member host_members[] = {
	{"host", JSON_STRING, 1}, {"registrable", JSON_STRING, 1}, {"tld", JSON_NUMBER, 1},
	{"link", JSON_NUMBER, 1}, {"flags", JSON_ARRAY, 0}};

static const struct {
	const char *name;
	unsigned bit;
} host_flags[] = {
	{"brand_domain", MEKIKI_HOST_BRAND_DOMAIN}, {"lookalike", MEKIKI_HOST_LOOKALIKE},
	{"confusable", MEKIKI_HOST_CONFUSABLE},     {"domain_label", MEKIKI_HOST_DOMAIN_LABEL},
	{"mixed_script", MEKIKI_HOST_MIXED_SCRIPT}, {"idn", MEKIKI_HOST_IDN},
	{"family", MEKIKI_HOST_FAMILY},             {"address", MEKIKI_HOST_ADDRESS},
};
#define NHOST_FLAGS (sizeof host_flags / sizeof host_flags[0])

static const struct {
	const char *name;
	unsigned bit;
} message_flags[] = {{"dmarc_fail", MEKIKI_MESSAGE_DMARC_FAIL}, {"report", MEKIKI_MESSAGE_REPORT}};

static int is(const json_value *v, const char *s)
{
	return v->len == strlen(s) && memcmp(v->str, s, v->len) == 0;
}

static int check_view(const json_value *view, struct pc_err *e)
{
	if (CHECK(view, "the view", view_members, e))
		return -1;
	const json_value *a;
	if ((a = json_get(view, "parts")))
		for (const json_value *p = a->child; p; p = p->next)
			if (p->type != JSON_STRING && CHECK(p, "a part (a string or {\"text\", \"raw\"})",
			                                    part_members, e))
				return -1;
	if ((a = json_get(view, "from")))
		for (const json_value *p = a->child; p; p = p->next)
			if (CHECK(p, "a From entry", from_members, e))
				return -1;
	if ((a = json_get(view, "links")))
		for (const json_value *p = a->child; p; p = p->next)
			if (CHECK(p, "a link", link_members, e))
				return -1;
	if ((a = json_get(view, "addresses")))
		for (const json_value *p = a->child; p; p = p->next)
			if (CHECK(p, "an address ({\"host\", \"domain\", \"addr\"})", address_members, e))
				return -1;
	if ((a = json_get(view, "flags")))
		for (const json_value *p = a->child; p; p = p->next) {
			size_t k;
			for (k = 0; p->type == JSON_STRING && k < 2; k++)
				if (is(p, message_flags[k].name))
					break;
			if (p->type != JSON_STRING || k == 2)
				return fail(e, p->off, "a message flag is \"dmarc_fail\" or \"report\"");
		}
	return 0;
}

static int check_expect(const json_value *expect, struct pc_err *e)
{
	for (const json_value *s = expect->child; s; s = s->next) {
		if (s->key_len < 7 || memcmp(s->key, "MEKIKI_", 7) != 0)
			return fail(e, s->key_off, "\"%.*s\" in expect is not a symbol (MEKIKI_...)",
			            SHORT(s->key, s->key_len));
		if (CHECK(s, "a symbol of expect", symbol_members, e))
			return -1;
		for (const json_value *o = json_get(s, "options")->child; o; o = o->next)
			if (o->type != JSON_STRING)
				return fail(e, o->off, "an option must be a string, not %s",
				            json_type_name(o->type));
	}
	return 0;
}

static int check_hosts(const json_value *hosts, struct pc_err *e)
{
	for (const json_value *h = hosts->child; h; h = h->next) {
		if (CHECK(h, "an entry of hosts", host_members, e))
			return -1;
		long long link;
		const json_value *l = json_get(h, "link");
		if (!json_integer(l, &link) || link < -1)
			return fail(e, l->off, "\"link\" must be an integer, -1 or more");
		const json_value *f = json_get(h, "flags");
		for (const json_value *x = f ? f->child : NULL; x; x = x->next) {
			size_t k;
			for (k = 0; x->type == JSON_STRING && k < NHOST_FLAGS; k++)
				if (is(x, host_flags[k].name))
					break;
			if (x->type != JSON_STRING || k == NHOST_FLAGS)
				return fail(e, x->off, "unknown host flag (known: brand_domain, lookalike, "
				                       "confusable, domain_label, mixed_script, idn, family)");
		}
	}
	return 0;
}

int pc_read(const json_value *root, int golden, struct pc_case *c, struct pc_err *e)
{
	memset(c, 0, sizeof *c);
	c->use_brands = c->use_lures = c->use_tld = c->use_asn = 1;
	if (root->type != JSON_OBJECT)
		return fail(e, root->off, "a case or a view must be an object, not %s",
		            json_type_name(root->type));
	if (!golden && !json_get(root, "view")) {
		c->view = root;
		return check_view(root, e);
	}
	if (CHECK(root, "a case", case_members, e))
		return -1;
	const json_value *v;
	if (golden && !(v = json_get(root, "name")))
		return fail(e, root->off, "a case has no \"name\"");
	if (golden && !json_get(root, "expect"))
		return fail(e, root->off, "a case has no \"expect\" (write {} when no symbol fires)");
	if ((v = json_get(root, "name")))
		c->name = v->str;
	c->view = json_get(root, "view");
	c->bounds = json_get(root, "bounds");
	c->expect = json_get(root, "expect");
	c->hosts = json_get(root, "hosts");
	if ((v = json_get(root, "maps"))) {
		if (CHECK(v, "maps", maps_members, e))
			return -1;
		const json_value *b;
		if ((b = json_get(v, "brands")))
			c->use_brands = b->boolean;
		if ((b = json_get(v, "lures")))
			c->use_lures = b->boolean;
		if ((b = json_get(v, "tld")))
			c->use_tld = b->boolean;
		if ((b = json_get(v, "asn")))
			c->use_asn = b->boolean;
	}
	if (c->bounds)
		for (const json_value *b = c->bounds->child; b; b = b->next) {
			long long x;
			if (!json_integer(b, &x))
				return fail(e, b->off, "bound \"%.*s\" must be an integer",
				            SHORT(b->key, b->key_len));
		}
	if (check_view(c->view, e))
		return -1;
	if (c->expect && check_expect(c->expect, e))
		return -1;
	if (c->hosts && check_hosts(c->hosts, e))
		return -1;
	return 0;
}

int pc_apply_bounds(mekiki_policy *p, const json_value *bounds, struct pc_err *e)
{
	for (const json_value *b = bounds ? bounds->child : NULL; b; b = b->next) {
		long long x;
		if (!json_integer(b, &x))
			return fail(e, b->off, "bound \"%.*s\" must be an integer", SHORT(b->key, b->key_len));
		if (mekiki_policy_set_bound(p, b->key, x) != MEKIKI_OK)
			return fail(e, b->key_off, "unknown bound \"%.*s\" or value %lld out of its range",
			            SHORT(b->key, b->key_len), x);
	}
	return 0;
}

static int status(int st, const json_value *v, const char *what, struct pc_err *e)
{
	if (st == MEKIKI_OK)
		return 0;
	return fail(e, v->off, "%s: %s", what, mekiki_strerror(st));
}

static const char *str_or_empty(const json_value *obj, const char *key, size_t *len)
{
	const json_value *v = json_get(obj, key);
	*len = v ? v->len : 0;
	return v ? v->str : "";
}

int pc_apply_view(mekiki_message *m, const json_value *view, struct pc_err *e)
{
	if (check_view(view, e))
		return -1;
	const json_value *v;
	if ((v = json_get(view, "subject")) &&
	    status(mekiki_message_set_subject(m, v->str, v->len), v, "the subject", e))
		return -1;
	if ((v = json_get(view, "parts")))
		for (const json_value *p = v->child; p; p = p->next) {
			int st;
			if (p->type == JSON_STRING) {
				st = mekiki_message_add_part(m, p->str, p->len, NULL, 0);
			} else {
				const json_value *t = json_get(p, "text"), *r = json_get(p, "raw");
				st = mekiki_message_add_part(m, t->str, t->len, r ? r->str : NULL,
				                             r ? r->len : 0);
			}
			if (status(st, p, "a part", e))
				return -1;
		}
	if ((v = json_get(view, "from")))
		for (const json_value *p = v->child; p; p = p->next) {
			size_t nl, al;
			const char *name = str_or_empty(p, "name", &nl), *addr = str_or_empty(p, "addr", &al);
			if (status(mekiki_message_add_from(m, name, nl, addr, al), p, "a From entry", e))
				return -1;
		}
	if ((v = json_get(view, "from_header")) &&
	    status(mekiki_message_set_from_header(m, v->str, v->len), v, "the From header", e))
		return -1;
	if ((v = json_get(view, "reply_to")) &&
	    status(mekiki_message_set_reply_to(m, v->str, v->len), v, "the Reply-To", e))
		return -1;
	if ((v = json_get(view, "flags"))) {
		unsigned flags = 0;
		for (const json_value *p = v->child; p; p = p->next)
			for (size_t k = 0; k < 2; k++)
				if (is(p, message_flags[k].name))
					flags |= message_flags[k].bit;
		if (status(mekiki_message_set_flags(m, flags), v, "the flags", e))
			return -1;
	}
	if ((v = json_get(view, "links")))
		for (const json_value *p = v->child; p; p = p->next) {
			const json_value *u = json_get(p, "url"), *h = json_get(p, "host"),
			                 *s = json_get(p, "shown");
			if (status(mekiki_message_add_link(m, u->str, u->len, h->str, h->len,
			                                   s ? s->str : NULL, s ? s->len : 0),
			           p, "a link", e))
				return -1;
		}
	if ((v = json_get(view, "sender_ip")) &&
	    status(mekiki_message_set_sender_ip(m, v->str, v->len), v, "the sender IP", e))
		return -1;
	if ((v = json_get(view, "addresses")))
		for (const json_value *p = v->child; p; p = p->next) {
			const json_value *h = json_get(p, "host"), *d = json_get(p, "domain"),
			                 *a = json_get(p, "addr");
			if (status(mekiki_message_add_host_address(m, h->str, h->len, d->str, d->len, a->str,
			                                           a->len),
			           p, "an address", e))
				return -1;
		}
	return 0;
}

/* --- printing ------------------------------------------------------------------ */

void pc_print_string(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			i++;
		} else if (c < 0x20) {
			const char *esc = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
			if (esc)
				fputs(esc, f);
			else
				fprintf(f, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			fputc(c, f);
			i++;
		} else {
			/* one valid UTF-8 sequence, or U+FFFD for a bad byte */
			size_t k = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
			           : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
			int ok = k && i + k <= n;
			for (size_t j = 1; ok && j < k; j++)
				ok = ((unsigned char)s[i + j] & 0xC0) == 0x80;
			if (ok && k == 3)
				ok = !(c == 0xE0 && (unsigned char)s[i + 1] < 0xA0) &&
				     !(c == 0xED && (unsigned char)s[i + 1] >= 0xA0);
			if (ok && k == 4)
				ok = !(c == 0xF0 && (unsigned char)s[i + 1] < 0x90) &&
				     !(c == 0xF4 && (unsigned char)s[i + 1] >= 0x90);
			if (ok) {
				fwrite(s + i, 1, k, f);
				i += k;
			} else {
				fputs("\xEF\xBF\xBD", f);
				i++;
			}
		}
	}
	fputc('"', f);
}

static void print_cstr(FILE *f, const char *s)
{
	pc_print_string(f, s ? s : "", s ? strlen(s) : 0);
}

/* A number the shortest way that reads back the same (1.0 for integers). */
static void print_number(FILE *f, double d)
{
	char buf[64];
	if (d == floor(d) && fabs(d) < 1e15) {
		fprintf(f, "%.1f", d);
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	fputs(buf, f);
}

static void print_host_flags(FILE *f, unsigned flags)
{
	fputc('[', f);
	int first = 1;
	for (size_t k = 0; k < NHOST_FLAGS; k++)
		if (flags & host_flags[k].bit) {
			fprintf(f, "%s\"%s\"", first ? "" : ", ", host_flags[k].name);
			first = 0;
		}
	fputc(']', f);
}

static void print_options(FILE *f, const mekiki_message *m, size_t i)
{
	fputc('[', f);
	for (size_t j = 0; j < mekiki_verdict_option_count(m, i); j++) {
		if (j)
			fputs(", ", f);
		print_cstr(f, mekiki_verdict_option(m, i, j));
	}
	fputc(']', f);
}

static void print_host(FILE *f, const mekiki_message *m, size_t i)
{
	fputs("{\"host\": ", f);
	print_cstr(f, mekiki_link_host(m, i));
	fputs(", \"registrable\": ", f);
	print_cstr(f, mekiki_link_host_registrable(m, i));
	fputs(", \"tld\": ", f);
	print_number(f, mekiki_link_host_tld_weight(m, i));
	fprintf(f, ", \"link\": %ld, \"flags\": ", mekiki_link_host_link(m, i));
	print_host_flags(f, mekiki_link_host_flags(m, i));
	fputc('}', f);
}

void pc_print_verdict(FILE *f, const mekiki_message *m)
{
	fputs("{\n", f);
	for (size_t i = 0; i < mekiki_verdict_count(m); i++) {
		fputs("  ", f);
		print_cstr(f, mekiki_verdict_symbol(m, i));
		fputs(": {\"factor\": ", f);
		print_number(f, mekiki_verdict_factor(m, i));
		fputs(", \"options\": ", f);
		print_options(f, m, i);
		fputs("},\n", f);
	}
	fputs("  \"hosts\": [", f);
	for (size_t i = 0; i < mekiki_link_host_count(m); i++) {
		fputs(i ? ",\n    " : "\n    ", f);
		print_host(f, m, i);
	}
	fputs(mekiki_link_host_count(m) ? "\n  ]\n}\n" : "]\n}\n", f);
}

/* --- comparing ----------------------------------------------------------------- */

static void print_json_options(FILE *f, const json_value *options)
{
	fputc('[', f);
	for (const json_value *o = options->child; o; o = o->next) {
		if (o != options->child)
			fputs(", ", f);
		pc_print_string(f, o->str, o->len);
	}
	fputc(']', f);
}

static int same_options(const mekiki_message *m, size_t i, const json_value *options)
{
	if (mekiki_verdict_option_count(m, i) != options->count)
		return 0;
	size_t j = 0;
	for (const json_value *o = options->child; o; o = o->next, j++) {
		const char *got = mekiki_verdict_option(m, i, j);
		if (!got || strlen(got) != o->len || memcmp(got, o->str, o->len) != 0)
			return 0;
	}
	return 1;
}

static unsigned compare_hosts(FILE *f, const char *prefix, const mekiki_message *m,
                              const json_value *hosts)
{
	size_t n = mekiki_link_host_count(m);
	int same = n == hosts->count;
	size_t i = 0;
	for (const json_value *h = hosts->child; same && h; h = h->next, i++) {
		const json_value *host = json_get(h, "host"), *reg = json_get(h, "registrable"),
		                 *tld = json_get(h, "tld"), *link = json_get(h, "link"),
		                 *flags = json_get(h, "flags");
		const char *gh = mekiki_link_host(m, i), *gr = mekiki_link_host_registrable(m, i);
		long long want_link = 0;
		json_integer(link, &want_link);
		same = gh && strlen(gh) == host->len && memcmp(gh, host->str, host->len) == 0 && gr &&
		       strlen(gr) == reg->len && memcmp(gr, reg->str, reg->len) == 0 &&
		       fabs(mekiki_link_host_tld_weight(m, i) - tld->number) <= FACTOR_EPSILON &&
		       mekiki_link_host_link(m, i) == want_link;
		if (same && flags) {
			unsigned want = 0;
			for (const json_value *x = flags->child; x; x = x->next)
				for (size_t k = 0; k < NHOST_FLAGS; k++)
					if (is(x, host_flags[k].name))
						want |= host_flags[k].bit;
			same = want == mekiki_link_host_flags(m, i);
		}
	}
	if (same)
		return 0;
	fprintf(f, "%shosts differ:\n", prefix);
	i = 0;
	for (const json_value *h = hosts->child; h; h = h->next, i++) {
		fprintf(f, "%s  expected[%zu] {\"host\": ", prefix, i);
		const json_value *host = json_get(h, "host"), *reg = json_get(h, "registrable"),
		                 *flags = json_get(h, "flags");
		pc_print_string(f, host->str, host->len);
		fputs(", \"registrable\": ", f);
		pc_print_string(f, reg->str, reg->len);
		fputs(", \"tld\": ", f);
		print_number(f, json_get(h, "tld")->number);
		fprintf(f, ", \"link\": %.*s", (int)json_get(h, "link")->len, json_get(h, "link")->str);
		if (flags) {
			fputs(", \"flags\": [", f);
			for (const json_value *x = flags->child; x; x = x->next)
				fprintf(f, "%s\"%s\"", x == flags->child ? "" : ", ", x->str);
			fputc(']', f);
		}
		fputs("}\n", f);
	}
	for (i = 0; i < n; i++) {
		fprintf(f, "%s  got[%zu]      ", prefix, i);
		print_host(f, m, i);
		fputc('\n', f);
	}
	return 1;
}

unsigned pc_compare(FILE *f, const char *prefix, const mekiki_message *m, const struct pc_case *c)
{
	unsigned diffs = 0;
	size_t n = mekiki_verdict_count(m);
	/* symbols expected: present, same factor, same options in order */
	for (const json_value *s = c->expect ? c->expect->child : NULL; s; s = s->next) {
		size_t i;
		for (i = 0; i < n; i++) {
			const char *sym = mekiki_verdict_symbol(m, i);
			if (strlen(sym) == s->key_len && memcmp(sym, s->key, s->key_len) == 0)
				break;
		}
		const json_value *factor = json_get(s, "factor"), *options = json_get(s, "options");
		if (i == n) {
			fprintf(f, "%s- %.*s did not fire (expected factor ", prefix, (int)s->key_len, s->key);
			print_number(f, factor->number);
			fputs(", options ", f);
			print_json_options(f, options);
			fputs(")\n", f);
			diffs++;
			continue;
		}
		double got = mekiki_verdict_factor(m, i);
		if (!(fabs(got - factor->number) <= FACTOR_EPSILON)) {
			fprintf(f, "%s~ %s factor ", prefix, mekiki_verdict_symbol(m, i));
			print_number(f, got);
			fputs(", expected ", f);
			print_number(f, factor->number);
			fputc('\n', f);
			diffs++;
		}
		if (!same_options(m, i, options)) {
			fprintf(f, "%s~ %s options\n%s    got      ", prefix, mekiki_verdict_symbol(m, i),
			        prefix);
			print_options(f, m, i);
			fprintf(f, "\n%s    expected ", prefix);
			print_json_options(f, options);
			fputc('\n', f);
			diffs++;
		}
	}
	/* symbols fired that the case does not list */
	for (size_t i = 0; i < n; i++) {
		const char *sym = mekiki_verdict_symbol(m, i);
		if (json_get(c->expect, sym))
			continue;
		fprintf(f, "%s+ %s fired, not expected: factor ", prefix, sym);
		print_number(f, mekiki_verdict_factor(m, i));
		fputs(", options ", f);
		print_options(f, m, i);
		fputc('\n', f);
		diffs++;
	}
	if (c->hosts)
		diffs += compare_hosts(f, prefix, m, c->hosts);
	return diffs;
}
