/*
 * mekiki_cli.c -- the `mekiki` command line for rule authors: the same engine
 * as the rspamd module, without rspamd.
 *
 *   mekiki --version
 *   mekiki explain [--map FILE] TEXT...   (TEXT "-" reads standard input)
 *   mekiki host [--map FILE] HOST...
 *   mekiki asn [--db FILE] [--asn-map FILE] IP...
 *   mekiki label [--labels FILE] DOMAIN...
 *   mekiki policy [--brands FILE] [--lures FILE|--no-lures] [--tld FILE|--no-tld]
 *                 [--hosting FILE] [--labels FILE] [--bound NAME=VALUE]...
 *                 FILE.json | --check FILE.jsonl
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "mekiki.h"
#include "policy_case.h"

#ifndef MEKIKI_DEFAULT_MAP
#define MEKIKI_DEFAULT_MAP "/usr/local/share/mekiki/mekiki_brands.map"
#endif

#ifndef MEKIKI_DEFAULT_LURES_MAP
#define MEKIKI_DEFAULT_LURES_MAP "/usr/local/share/mekiki/mekiki_lures.map"
#endif
#ifndef MEKIKI_DEFAULT_TLD_MAP
#define MEKIKI_DEFAULT_TLD_MAP "/usr/local/share/mekiki/mekiki_tld.map"
#endif

#ifndef MEKIKI_DEFAULT_ASN_DB
#define MEKIKI_DEFAULT_ASN_DB "/usr/local/share/mekiki/mekiki-asn.mmdb"
#endif
#ifndef MEKIKI_DEFAULT_ASN_MAP
#define MEKIKI_DEFAULT_ASN_MAP "/usr/local/share/mekiki/mekiki_asn.map"
#endif

/* Standard input or a map file is read whole, up to this size. */
#define MAX_INPUT (64u << 20)

static int usage(FILE *f)
{
	fprintf(f, "usage: mekiki --version\n"
	           "       mekiki explain [--map FILE] TEXT...   (TEXT '-' reads stdin)\n"
	           "       mekiki host [--map FILE] HOST...\n"
	           "       mekiki asn [--db FILE] [--asn-map FILE] IP...\n"
	           "       mekiki label [--labels FILE] DOMAIN...\n"
	           "       mekiki policy [--brands FILE] [--lures FILE|--no-lures] [--tld FILE|--no-tld]\n"
	           "                     [--hosting FILE] [--labels FILE] [--asn-db FILE --asn-map FILE]\n"
	           "                     [--bound NAME=VALUE]... FILE.json   (FILE '-' reads stdin)\n"
	           "       mekiki policy [map options] --check FILE.jsonl\n"
	           "\n"
	           "explain prints the strong and weak skeletons of each TEXT and every\n"
	           "brand of the catalogue found in it, with the reason.  host says whether\n"
	           "a link's host imitates a brand, and why.  The brand map is FILE, else\n"
	           "$MEKIKI_BRANDS_MAP, else " MEKIKI_DEFAULT_MAP ".\n"
	           "\n"
	           "asn prints the autonomous system of each address and its weights in the\n"
	           "ASN map.  The database is FILE, else $MEKIKI_ASN_DB, else\n"
	           MEKIKI_DEFAULT_ASN_DB "; the map FILE, else $MEKIKI_ASN_MAP,\n"
	           "else " MEKIKI_DEFAULT_ASN_MAP " (optional).\n"
	           "\n"
	           "label prints the shape of each registrable DOMAIN's label (SHORT, WORD,\n"
	           "RANDOM, MIXED), its bits of surprise per letter pair and the threshold of\n"
	           "RANDOM for it: the label baselines' (mekiki_labels.map) FILE, else\n"
	           "$MEKIKI_LABELS_MAP, else the built-in one.\n"
	           "\n"
	           "policy reads a message view in JSON (the \"view\" of a case of the golden\n"
	           "table, tests/golden/README.md, or a whole case, whose bounds and maps then\n"
	           "apply) and prints the verdict the plugins would give, as JSON: each symbol\n"
	           "-> {\"factor\", \"options\"}, then \"hosts\", the hosts the links go to.  With\n"
	           "--check it runs every case of a golden file (JSON Lines) and prints each\n"
	           "failing case with the differences; exit 1 on any failure or malformed case.\n"
	           "The lure map is FILE, else $MEKIKI_LURES_MAP, else\n"
	           MEKIKI_DEFAULT_LURES_MAP ";\n"
	           "the TLD map FILE, else $MEKIKI_TLD_MAP, else " MEKIKI_DEFAULT_TLD_MAP ";\n"
	           "the free-hosting map (mekiki_hosting.map, the TLD map's format) FILE,\n"
	           "else $MEKIKI_HOSTING_MAP, else none; the label baselines FILE, else\n"
	           "$MEKIKI_LABELS_MAP, else none (the built-in threshold).\n"
	           "--bound sets a bound of the policy (max_text_bytes, max_parts, max_hits,\n"
	           "max_options, max_urls) over the case's.\n"
	           "\n"
	           "With $MEKIKI_CACHE_DIR set, brand and lure maps are compiled once and\n"
	           "the databases kept in that directory for the next runs.\n");
	return f == stderr ? 2 : 0;
}

static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0 || n > MAX_INPUT)
			break;
		if (n == cap) {
			char *p = realloc(buf, cap *= 2);
			if (!p) {
				free(buf);
				return NULL;
			}
			buf = p;
		}
	}
	if (buf && (ferror(f) || n > MAX_INPUT)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static void map_error(void *ud, unsigned line, const char *msg)
{
	fprintf(stderr, "mekiki: %s:%u: %s (line skipped)\n", (const char *)ud, line, msg);
}

/* Print text with control bytes and invisible code points escaped. */
static void print_visible(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				printf("\\x%02x", c);
			else
				putchar(c);
			i++;
			continue;
		}
		size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
		if (i + k > n)
			k = n - i;
		/* A code point with an empty skeleton is invisible: name it. */
		if (k > 1 && mekiki_skeleton(s + i, k, NULL, 0) == 0) {
			uint32_t cp = k == 2 ? (c & 0x1Fu) << 6 | (s[i + 1] & 0x3F)
			              : k == 3 ? (c & 0x0Fu) << 12 | (uint32_t)(s[i + 1] & 0x3F) << 6 |
			                             (s[i + 2] & 0x3F)
			                       : (c & 0x07u) << 18 | (uint32_t)(s[i + 1] & 0x3F) << 12 |
			                             (uint32_t)(s[i + 2] & 0x3F) << 6 | (s[i + 3] & 0x3F);
			printf("<U+%04X>", (unsigned)cp);
		} else {
			fwrite(s + i, 1, k, stdout);
		}
		i += k;
	}
}

static void print_skeleton(const char *label, size_t (*fn)(const char *, size_t, char *, size_t),
                           const char *text, size_t len)
{
	size_t need = fn(text, len, NULL, 0);
	char *buf = malloc(need ? need : 1);
	if (!buf)
		return;
	fn(text, len, buf, need);
	printf("  %s skeleton: ", label);
	print_visible(buf, need);
	putchar('\n');
	free(buf);
}

static void explain(const mekiki_catalogue *cat, mekiki_scanner *sc, const char *text,
                    size_t len)
{
	printf("text: ");
	print_visible(text, len);
	putchar('\n');
	print_skeleton("strong", mekiki_skeleton, text, len);
	print_skeleton("weak  ", mekiki_skeleton_weak, text, len);

	mekiki_hit hits[256];
	size_t n = 0;
	int rc = mekiki_scan(sc, text, len, 0, hits, 256, &n, NULL);
	if (rc != MEKIKI_OK) {
		printf("  scan failed (%d)\n", rc);
		return;
	}
	if (n == 0)
		printf("  no brand found\n");
	for (size_t i = 0; i < n; i++) {
		const mekiki_hit *h = &hits[i];
		const char *kind = !(h->flags & MEKIKI_HIT_CONFUSABLE) ? "plain mention"
		                   : (h->flags & MEKIKI_HIT_WEAK)      ? "WEAK confusable"
		                                                       : "CONFUSABLE";
		printf("  %s: brand %s, name \"%s\", bytes %zu-%zu \"", kind,
		       mekiki_catalogue_brand_id(cat, h->brand), mekiki_catalogue_name(cat, h->name),
		       h->start, h->end);
		print_visible(text + h->start, h->end - h->start);
		printf("\"\n");
		if (h->flags & MEKIKI_HIT_CONFUSABLE) {
			printf("    %s; code points not in the name:",
			       (h->flags & MEKIKI_HIT_WEAK)
			           ? "matches only after stripping accents / folding i and l"
			           : "the confusable skeleton equals the name's");
			for (uint32_t f = 0; f < h->nlisted; f++)
				printf(" U+%04X", (unsigned)h->foreign[f]);
			if (h->nlisted == 0)
				printf(" none (letters of the name in another case or order)");
			printf(" (%u occurrences)\n", (unsigned)h->nforeign);
		} else {
			printf("    written as in the catalogue (case aside)\n");
		}
	}
}

static void explain_host(const mekiki_catalogue *cat, mekiki_scanner *sc, const char *host)
{
	mekiki_host_verdict v;
	printf("host: %s\n", host);
	if (mekiki_host_check(sc, host, strlen(host), &v) != MEKIKI_OK) {
		printf("  not a host name (empty or longer than 253 bytes)\n\n");
		return;
	}
	printf("  unicode: %s%s\n  registrable domain: %s\n", v.unicode,
	       (v.flags & MEKIKI_HOST_IDN) ? " (IDNA decoded)" : "", v.registrable);
	const char *brand = v.brand != UINT32_MAX ? mekiki_catalogue_brand_id(cat, v.brand) : NULL;
	if (v.flags & MEKIKI_HOST_BRAND_DOMAIN)
		printf("  verdict: clean, inside a domain of brand %s\n", brand);
	else if (v.flags & MEKIKI_HOST_FAMILY)
		printf("  verdict: clean, the family of brand %s: its domain's label under another "
		       "suffix\n", brand);
	else if (v.flags & MEKIKI_HOST_DOMAIN_LABEL)
		printf("  verdict: LOOKALIKE of %s: a label of its domain, under a foreign domain\n",
		       brand);
	else if (v.flags & MEKIKI_HOST_LOOKALIKE)
		printf("  verdict: LOOKALIKE of %s: the name \"%s\"%s in a foreign domain\n", brand,
		       mekiki_catalogue_name(cat, v.name),
		       (v.flags & MEKIKI_HOST_CONFUSABLE) ? " written with look-alikes" : "");
	else if (v.flags & MEKIKI_HOST_MIXED_SCRIPT)
		printf("  verdict: suspicious: a label mixes Latin with another script\n");
	else
		printf("  verdict: no brand\n");
	putchar('\n');
}

/* The whole of a file (path "-": standard input), or NULL with a message. */
static char *load_file(const char *path, const char *what, size_t *len)
{
	int is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "mekiki: cannot open %s %s: %s\n", what, path, strerror(errno));
		return NULL;
	}
	char *text = read_all(f, len);
	if (!is_stdin)
		fclose(f);
	if (!text)
		fprintf(stderr, "mekiki: cannot read %s %s (at most %u bytes)\n", what, path, MAX_INPUT);
	return text;
}

/*
 * A catalogue from a brand or lure map, or NULL with a message: a map
 * without a single valid entry is an error (a wrong file, not a policy).
 */
static mekiki_catalogue *load_catalogue(const char *path, const char *what)
{
	size_t mlen;
	char *map = load_file(path, what, &mlen);
	if (!map)
		return NULL;
	int st;
	/* $MEKIKI_CACHE_DIR: compiled databases kept between runs (mekiki.h). */
	const char *cache = getenv("MEKIKI_CACHE_DIR");
	mekiki_catalogue *cat = mekiki_catalogue_new_cached(map, mlen, cache, map_error,
	                                                    (void *)path, &st);
	free(map);
	if (!cat) {
		fprintf(stderr, "mekiki: cannot build the catalogue from %s: %s\n", path,
		        mekiki_strerror(st));
		return NULL;
	}
	const char *note = mekiki_catalogue_cache_note(cat);
	if (strncmp(note, "compiled; ", 10) == 0 || strstr(note, "(replacing"))
		fprintf(stderr, "mekiki: %s %s: cache: %s\n", what, path, note);
	if (mekiki_catalogue_brand_count(cat) == 0) {
		fprintf(stderr, "mekiki: %s %s has no valid entry\n", what, path);
		mekiki_catalogue_free(cat);
		return NULL;
	}
	return cat;
}

/* A map of suffixes: the TLD map's format (labels: the label baselines',
 * which may list nothing). */
static mekiki_tld_map *load_suffix_map(const char *path, const char *what, int labels)
{
	size_t mlen;
	char *text = load_file(path, what, &mlen);
	if (!text)
		return NULL;
	int st;
	mekiki_tld_map *map = (labels ? mekiki_label_map_new : mekiki_tld_map_new)(
	    text, mlen, map_error, (void *)path, &st);
	free(text);
	if (!map) {
		fprintf(stderr, "mekiki: cannot read the %s %s: %s\n", what, path, mekiki_strerror(st));
		return NULL;
	}
	if (!labels && mekiki_tld_map_count(map) == 0) {
		fprintf(stderr, "mekiki: %s %s has no valid entry\n", what, path);
		mekiki_tld_map_free(map);
		return NULL;
	}
	return map;
}

static mekiki_tld_map *load_tld_map(const char *path, const char *what)
{
	return load_suffix_map(path, what, 0);
}

/* An option of a command: 1 when argv[*i] is one (a word of two or more
 * characters starting with '-'), "--" ending the options. */
static int is_option(int argc, char **argv, int *i)
{
	if (*i >= argc || argv[*i][0] != '-' || argv[*i][1] == '\0')
		return 0;
	if (strcmp(argv[*i], "--") == 0) {
		(*i)++;
		return 0;
	}
	return 1;
}

static int bad_option(const char *cmd, const char *opt, int needs_value)
{
	if (needs_value)
		fprintf(stderr, "mekiki %s: option %s needs a value\n", cmd, opt);
	else
		fprintf(stderr, "mekiki %s: unknown option %s\n", cmd, opt);
	return usage(stderr);
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v && *v ? v : dflt;
}

static int cmd_explain(int argc, char **argv, int hosts)
{
	const char *cmd = hosts ? "host" : "explain";
	const char *map_path = env_or("MEKIKI_BRANDS_MAP", MEKIKI_DEFAULT_MAP);
	int i = 0;
	while (is_option(argc, argv, &i)) {
		if (strcmp(argv[i], "--map") != 0)
			return bad_option(cmd, argv[i], 0);
		if (i + 1 >= argc)
			return bad_option(cmd, argv[i], 1);
		map_path = argv[i + 1];
		i += 2;
	}
	if (i >= argc)
		return usage(stderr);

	mekiki_catalogue *cat = load_catalogue(map_path, "brand map");
	if (!cat)
		return 1;
	mekiki_scanner *sc = mekiki_scanner_new(cat);
	if (!sc) {
		fprintf(stderr, "mekiki: cannot allocate a scanner for %s\n", map_path);
		mekiki_catalogue_free(cat);
		return 1;
	}
	printf("catalogue %s: %u brands, %u names\n\n", map_path,
	       (unsigned)mekiki_catalogue_brand_count(cat), (unsigned)mekiki_catalogue_name_count(cat));
	int rc = 0;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			size_t len;
			char *text = read_all(stdin, &len);
			if (!text) {
				fprintf(stderr, "mekiki: cannot read standard input (at most %u bytes)\n",
				        MAX_INPUT);
				rc = 1;
				continue;
			}
			explain(cat, sc, text, len);
			free(text);
		} else if (hosts) {
			explain_host(cat, sc, argv[i]);
			continue;
		} else {
			explain(cat, sc, argv[i], strlen(argv[i]));
		}
		putchar('\n');
	}
	mekiki_scanner_free(sc);
	mekiki_catalogue_free(cat);
	return rc;
}

static int cmd_asn(int argc, char **argv)
{
	const char *db_path = env_or("MEKIKI_ASN_DB", MEKIKI_DEFAULT_ASN_DB);
	const char *map_path = env_or("MEKIKI_ASN_MAP", MEKIKI_DEFAULT_ASN_MAP);
	int map_given = getenv("MEKIKI_ASN_MAP") && *getenv("MEKIKI_ASN_MAP");
	int i = 0;
	while (is_option(argc, argv, &i)) {
		int db = strcmp(argv[i], "--db") == 0, map = strcmp(argv[i], "--asn-map") == 0;
		if (!db && !map)
			return bad_option("asn", argv[i], 0);
		if (i + 1 >= argc)
			return bad_option("asn", argv[i], 1);
		if (db) {
			db_path = argv[i + 1];
		} else {
			map_path = argv[i + 1];
			map_given = 1;
		}
		i += 2;
	}
	if (i >= argc)
		return usage(stderr);

	char err[512];
	mekiki_asn_db *db = mekiki_asn_open(db_path, err, sizeof err);
	if (!db) {
		fprintf(stderr, "mekiki: cannot open the ASN database: %s\n", err);
		return 1;
	}
	mekiki_asn_map *map = NULL;
	FILE *f = fopen(map_path, "rb");
	if (f) {
		size_t mlen;
		char *text = read_all(f, &mlen);
		fclose(f);
		int st;
		map = text ? mekiki_asn_map_new(text, mlen, map_error, (void *)map_path, &st) : NULL;
		free(text);
		if (!map || mekiki_asn_map_count(map) == 0) {
			fprintf(stderr, "mekiki: %s %s\n",
			        map ? "no valid entry in the ASN map" : "cannot read the ASN map", map_path);
			mekiki_asn_map_free(map);
			mekiki_asn_close(db);
			return 1;
		}
	} else if (map_given) {
		fprintf(stderr, "mekiki: cannot open the ASN map %s: %s\n", map_path, strerror(errno));
		mekiki_asn_close(db);
		return 1;
	}
	int rc = 0;
	for (; i < argc; i++) {
		mekiki_asn_info info;
		int found;
		int r = mekiki_asn_lookup(db, argv[i], strlen(argv[i]), &info, &found);
		if (r == MEKIKI_OK && found) {
			printf("%s AS%u \"%s\"", argv[i], (unsigned)info.asn, info.org);
			if (map)
				printf(" sender=%g link=%g shared=%g",
				       mekiki_asn_map_weight(map, info.asn, MEKIKI_ASN_SENDER, 0.0),
				       mekiki_asn_map_weight(map, info.asn, MEKIKI_ASN_LINK, 0.0),
				       mekiki_asn_map_weight(map, info.asn, MEKIKI_ASN_SHARED, 1.0));
			putchar('\n');
		} else if (r == MEKIKI_OK) {
			printf("%s not in the database\n", argv[i]);
		} else {
			printf("%s %s\n", argv[i],
			       r == MEKIKI_EINVAL ? "is not a numeric IP address"
			                          : "gives a corrupt record");
			rc = 1;
		}
	}
	mekiki_asn_map_free(map);
	mekiki_asn_close(db);
	return rc;
}

/* --- mekiki label ---------------------------------------------------------------- */

static int cmd_label(int argc, char **argv)
{
	const char *path = env_or("MEKIKI_LABELS_MAP", NULL);
	static const char *const names[] = {"SHORT", "WORD", "RANDOM", "MIXED"};
	int i = 0;
	while (is_option(argc, argv, &i)) {
		if (strcmp(argv[i], "--labels") != 0)
			return bad_option("label", argv[i], 0);
		if (i + 1 >= argc)
			return bad_option("label", argv[i], 1);
		path = argv[i + 1];
		i += 2;
	}
	if (i >= argc)
		return usage(stderr);
	mekiki_tld_map *map = NULL;
	if (path && *path && !(map = load_suffix_map(path, "label baselines", 1)))
		return 1;
	for (; i < argc; i++) {
		size_t n = strlen(argv[i]);
		double score, bits = mekiki_tld_map_weight(map, argv[i], n, NULL);
		int shape = mekiki_domain_shape(map, argv[i], n, &score);
		print_visible(argv[i], n);
		printf(" %s %.2f %.2f\n", shape >= 0 && shape < 4 ? names[shape] : "?",
		       score == 0.0 ? 0.0 : -score, bits > 0 ? bits : MEKIKI_LABEL_RANDOM_BITS);
	}
	mekiki_tld_map_free(map);
	return 0;
}

/* --- mekiki policy -------------------------------------------------------------- */

#define MAX_CLI_BOUNDS 16

struct policy_opts {
	mekiki_catalogue *brands, *lures;
	mekiki_tld_map *tld, *hosting, *labels;
	mekiki_asn_db *asn_db;
	mekiki_asn_map *asn_map;
	struct {
		char name[32];
		long long value;
	} bounds[MAX_CLI_BOUNDS];
	size_t nbounds;
};

/* The policy of a case: the maps it keeps, its bounds, then the command line's. */
static mekiki_policy *case_policy(const struct policy_opts *o, const struct pc_case *c,
                                  struct pc_err *e)
{
	int st;
	mekiki_policy *p = mekiki_policy_new(c->use_brands ? o->brands : NULL,
	                                     c->use_lures ? o->lures : NULL,
	                                     c->use_tld ? o->tld : NULL, &st);
	if (!p) {
		snprintf(e->msg, sizeof e->msg, "cannot make a policy: %s", mekiki_strerror(st));
		e->off = 0;
		return NULL;
	}
	if (c->use_asn)
		mekiki_policy_set_networks(p, o->asn_db, o->asn_map);
	mekiki_policy_set_hosting(p, o->hosting);
	mekiki_policy_set_labels(p, o->labels);
	if (pc_apply_bounds(p, c->bounds, e) != 0) {
		mekiki_policy_free(p);
		return NULL;
	}
	for (size_t i = 0; i < o->nbounds; i++)
		mekiki_policy_set_bound(p, o->bounds[i].name, o->bounds[i].value); /* checked before */
	return p;
}

/* Decide on case c: 0, or -1 with e filled. */
static int run_case(const struct policy_opts *o, const struct pc_case *c, mekiki_message *m,
                    struct pc_err *e, mekiki_policy **pp)
{
	mekiki_policy *p = case_policy(o, c, e);
	if (!p)
		return -1;
	*pp = p;
	int st = mekiki_message_reset(m, p);
	if (st == MEKIKI_OK && pc_apply_view(m, c->view, e) != 0)
		return -1;
	if (st == MEKIKI_OK)
		st = mekiki_decide(m);
	if (st == MEKIKI_OK) /* the view's addresses stand for the host's resolver */
		st = mekiki_decide_networks(m);
	if (st != MEKIKI_OK) {
		snprintf(e->msg, sizeof e->msg, "mekiki_decide: %s", mekiki_strerror(st));
		e->off = c->view->off;
		return -1;
	}
	return 0;
}

static void report(const char *path, unsigned long line_base, const char *text, size_t len,
                   size_t off, const char *msg)
{
	unsigned long line, col;
	json_where(text, len, off, &line, &col);
	fprintf(stderr, "mekiki: %s:%lu:%lu: %s\n", path, line + line_base, col, msg);
}

static int policy_one(const struct policy_opts *o, const char *file)
{
	size_t len;
	char *text = load_file(file, "message view", &len);
	if (!text)
		return 1;
	const char *path = strcmp(file, "-") == 0 ? "(stdin)" : file;
	struct json_error je;
	json_doc *doc = json_parse(text, len, 0, &je);
	if (!doc) {
		fprintf(stderr, "mekiki: %s:%lu:%lu: %s\n", path, je.line, je.col, je.msg);
		free(text);
		return 1;
	}
	struct pc_case c;
	struct pc_err e;
	mekiki_message *m = mekiki_message_new();
	mekiki_policy *p = NULL;
	int rc = 0;
	if (!m) {
		fprintf(stderr, "mekiki: out of memory\n");
		rc = 1;
	} else if (pc_read(json_root(doc), 0, &c, &e) != 0 || run_case(o, &c, m, &e, &p) != 0) {
		report(path, 0, text, len, e.off, e.msg);
		rc = 1;
	} else {
		pc_print_verdict(stdout, m);
	}
	mekiki_message_free(m);
	mekiki_policy_free(p);
	json_free(doc);
	free(text);
	return rc;
}

static int policy_check(const struct policy_opts *o, const char *file)
{
	size_t len;
	char *text = load_file(file, "golden file", &len);
	if (!text)
		return 1;
	const char *path = strcmp(file, "-") == 0 ? "(stdin)" : file;
	mekiki_message *m = mekiki_message_new();
	if (!m) {
		free(text);
		fprintf(stderr, "mekiki: out of memory\n");
		return 1;
	}
	unsigned long lineno = 0, cases = 0, failed = 0, malformed = 0;
	for (size_t at = 0; at < len;) {
		const char *line = text + at;
		const char *nl = memchr(line, '\n', len - at);
		size_t n = nl ? (size_t)(nl - line) : len - at;
		at += n + 1;
		lineno++;
		size_t k = 0;
		while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
			k++;
		if (k == n)
			continue; /* a blank line */
		cases++;
		struct json_error je;
		json_doc *doc = json_parse(line, n, 0, &je);
		if (!doc) {
			printf("MALFORMED %s:%lu:%lu: %s\n", path, lineno, je.line == 1 ? je.col : 0, je.msg);
			malformed++;
			continue;
		}
		struct pc_case c;
		struct pc_err e;
		mekiki_policy *p = NULL;
		if (pc_read(json_root(doc), 1, &c, &e) != 0 || run_case(o, &c, m, &e, &p) != 0) {
			unsigned long l, col;
			json_where(line, n, e.off, &l, &col);
			printf("MALFORMED %s:%lu:%lu: %s%s%s\n", path, lineno, col, c.name ? c.name : "",
			       c.name ? ": " : "", e.msg);
			malformed++;
		} else {
			/* the differences, printed under the case's name */
			char *diff = NULL;
			size_t diff_len = 0;
			FILE *f = open_memstream(&diff, &diff_len);
			unsigned diffs = f ? pc_compare(f, "    ", m, &c) : 1;
			if (f)
				fclose(f);
			if (diffs) {
				printf("FAIL %s:%lu: ", path, lineno);
				pc_print_string(stdout, c.name, strlen(c.name));
				printf("\n%s", diff ? diff : "    (out of memory)\n");
				failed++;
			}
			free(diff);
		}
		mekiki_policy_free(p);
		json_free(doc);
	}
	mekiki_message_free(m);
	free(text);
	printf("%s: %lu cases, %lu passed, %lu failed, %lu malformed\n", path, cases,
	       cases - failed - malformed, failed, malformed);
	if (cases == 0)
		printf("%s: no case (a golden file must have at least one)\n", path);
	return cases == 0 || failed || malformed ? 1 : 0;
}

static int cmd_policy(int argc, char **argv)
{
	const char *brands = env_or("MEKIKI_BRANDS_MAP", MEKIKI_DEFAULT_MAP);
	const char *lures = env_or("MEKIKI_LURES_MAP", MEKIKI_DEFAULT_LURES_MAP);
	const char *tld = env_or("MEKIKI_TLD_MAP", MEKIKI_DEFAULT_TLD_MAP);
	const char *hosting = env_or("MEKIKI_HOSTING_MAP", NULL);
	const char *labels = env_or("MEKIKI_LABELS_MAP", NULL);
	const char *check = NULL, *asn_db = NULL, *asn_map = NULL;
	struct policy_opts o;
	memset(&o, 0, sizeof o);
	int i = 0;
	while (is_option(argc, argv, &i)) {
		const char *opt = argv[i];
		if (strcmp(opt, "--no-lures") == 0 || strcmp(opt, "--no-tld") == 0) {
			*(opt[5] == 'l' ? &lures : &tld) = NULL;
			i++;
			continue;
		}
		int known = strcmp(opt, "--brands") == 0 || strcmp(opt, "--map") == 0 ||
		            strcmp(opt, "--lures") == 0 || strcmp(opt, "--tld") == 0 ||
		            strcmp(opt, "--hosting") == 0 || strcmp(opt, "--labels") == 0 ||
		            strcmp(opt, "--bound") == 0 || strcmp(opt, "--check") == 0 ||
		            strcmp(opt, "--asn-db") == 0 || strcmp(opt, "--asn-map") == 0;
		if (!known)
			return bad_option("policy", opt, 0);
		if (i + 1 >= argc)
			return bad_option("policy", opt, 1);
		const char *val = argv[i + 1];
		i += 2;
		if (strcmp(opt, "--brands") == 0 || strcmp(opt, "--map") == 0) {
			brands = val;
		} else if (strcmp(opt, "--lures") == 0) {
			lures = val;
		} else if (strcmp(opt, "--tld") == 0) {
			tld = val;
		} else if (strcmp(opt, "--hosting") == 0) {
			hosting = val;
		} else if (strcmp(opt, "--labels") == 0) {
			labels = val;
		} else if (strcmp(opt, "--check") == 0) {
			check = val;
		} else if (strcmp(opt, "--asn-db") == 0) {
			asn_db = val;
		} else if (strcmp(opt, "--asn-map") == 0) {
			asn_map = val;
		} else {
			const char *eq = strchr(val, '=');
			char *end;
			errno = 0;
			long long v = eq ? strtoll(eq + 1, &end, 10) : 0;
			if (!eq || eq == val || (size_t)(eq - val) >= sizeof o.bounds[0].name ||
			    !eq[1] || *end || errno || o.nbounds == MAX_CLI_BOUNDS) {
				fprintf(stderr, "mekiki policy: --bound takes NAME=INTEGER (at most %d), not '%s'\n",
				        MAX_CLI_BOUNDS, val);
				return usage(stderr);
			}
			memcpy(o.bounds[o.nbounds].name, val, (size_t)(eq - val));
			o.bounds[o.nbounds].name[eq - val] = '\0';
			o.bounds[o.nbounds].value = v;
			/* checked now, on a policy of no maps */
			mekiki_policy *t = mekiki_policy_new(NULL, NULL, NULL, NULL);
			int st = t ? mekiki_policy_set_bound(t, o.bounds[o.nbounds].name, v) : MEKIKI_ENOMEM;
			mekiki_policy_free(t);
			if (st != MEKIKI_OK) {
				fprintf(stderr, "mekiki policy: unknown bound or value out of range: %s\n", val);
				return usage(stderr);
			}
			o.nbounds++;
		}
	}
	if (check ? i != argc : i + 1 != argc)
		return usage(stderr);

	int rc = 1;
	o.brands = load_catalogue(brands, "brand map");
	if (!o.brands)
		goto out;
	if (lures && !(o.lures = load_catalogue(lures, "lure map")))
		goto out;
	if (tld && !(o.tld = load_tld_map(tld, "TLD map")))
		goto out;
	if (hosting && *hosting && !(o.hosting = load_tld_map(hosting, "hosting map")))
		goto out;
	if (labels && *labels && !(o.labels = load_suffix_map(labels, "label baselines", 1)))
		goto out;
	if (!asn_db != !asn_map) {
		fprintf(stderr, "mekiki policy: --asn-db and --asn-map go together\n");
		rc = usage(stderr);
		goto out;
	}
	if (asn_db) {
		char err[256];
		int st;
		size_t alen;
		if (!(o.asn_db = mekiki_asn_open(asn_db, err, sizeof err))) {
			fprintf(stderr, "mekiki: %s\n", err);
			goto out;
		}
		char *atext = load_file(asn_map, "ASN map", &alen);
		o.asn_map = atext ? mekiki_asn_map_new(atext, alen, NULL, NULL, &st) : NULL;
		free(atext);
		if (!o.asn_map || mekiki_asn_map_count(o.asn_map) == 0) {
			fprintf(stderr, "mekiki: ASN map %s has no valid entry\n", asn_map);
			goto out;
		}
	}
	rc = check ? policy_check(&o, check) : policy_one(&o, argv[i]);
out:
	mekiki_catalogue_free(o.brands);
	mekiki_catalogue_free(o.lures);
	mekiki_tld_map_free(o.tld);
	mekiki_tld_map_free(o.hosting);
	mekiki_tld_map_free(o.labels);
	mekiki_asn_map_free(o.asn_map);
	mekiki_asn_close(o.asn_db);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "--version") == 0) {
		printf("mekiki %s (Unicode %s tables)\n", mekiki_version(), mekiki_unicode_version());
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(stdout);
	if (strcmp(argv[1], "explain") == 0)
		return cmd_explain(argc - 2, argv + 2, 0);
	if (strcmp(argv[1], "host") == 0)
		return cmd_explain(argc - 2, argv + 2, 1);
	if (strcmp(argv[1], "asn") == 0)
		return cmd_asn(argc - 2, argv + 2);
	if (strcmp(argv[1], "policy") == 0)
		return cmd_policy(argc - 2, argv + 2);
	if (strcmp(argv[1], "label") == 0)
		return cmd_label(argc - 2, argv + 2);
	fprintf(stderr, "mekiki: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
