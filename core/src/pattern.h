/*
 * pattern.h -- how the catalogue's names become Hyperscan patterns, shared
 * by pattern.c (a name's skeleton as a regular expression), rewrite.c
 * (which code points the scanner rewrites, and the alternates patterns
 * accept instead) and compile.c (the database).  Private to libmekiki.
 */
#ifndef MEKIKI_PATTERN_H
#define MEKIKI_PATTERN_H

#include "catalogue.h"

/* How each printable ASCII character reads in the weak skeleton. */
struct mk_reading {
	char s[16];
	size_t n;
};

void mk_ascii_readings(struct mk_reading r[128]);

/*
 * Non-ASCII code points whose weak skeleton is another single non-ASCII code
 * point that names use (カ reads as 力, 一 as ー) are read as it in the
 * scanner's stream: folded in place when both are three bytes long (no
 * edit), else rewritten with an edit.  Patterns accept such a code point in
 * place of its skeleton only when some name's skeleton has the code point
 * itself (alt[] below; none with the shipped tables).  Code points whose
 * skeleton is a sequence (ド reads as 卜 + U+3099) stay as written, since
 * rewriting them would cost an edit at almost every katakana word: patterns
 * accept them for the sequence (multi[] below).
 */
struct mk_multi {
	char seq[MK_MAX_EXPANSION]; /* weak skeleton of cp: several code points */
	uint8_t len;
	uint32_t cp;
};

struct mk_alternates {
	uint32_t *proto; /* sorted prototypes */
	uint32_t *first; /* first[i] .. first[i + 1]: their alternates in alt[] */
	uint32_t *alt;
	uint32_t nproto;
	/* Code points whose weak skeleton is a sequence that occurs in a name
	 * (ド reads as 卜 + U+3099): patterns accept them for the sequence. */
	struct mk_multi *multi;
	uint32_t nmulti, multi_cap;
};

void mk_alternates_free(struct mk_alternates *a);

/*
 * Decide which code points the scanner rewrites (cat->rewrite_bmp) and
 * collect the alternates the patterns accept instead (rewrite.c).
 */
int plan_rewrites(mekiki_catalogue *cat, struct mk_alternates *alts);

/*
 * A pattern as a sequence of tokens, each a set of alternative byte strings
 * that read as one piece of the skeleton; then a regular expression.
 */
struct mk_token {
	char (*alt)[MK_MAX_EXPANSION + 1]; /* NUL-terminated alternatives */
	uint32_t nalt, cap;
};

struct mk_tokens {
	struct mk_token *t;
	uint32_t n, cap;
};

void mk_tokens_free(struct mk_tokens *ts);
/* The tokens that find weak skeleton w[0..n) in the scanner's stream. */
int mk_tokenize(const char *w, size_t n, const struct mk_reading r[128],
                const struct mk_alternates *alts, struct mk_tokens *ts);
/*
 * The regular expression of a token sequence (with \b at word edges), or
 * NULL, with *over set when it would be longer than limit.
 */
char *mk_regex_of(const struct mk_tokens *ts, const struct mk_pattern *pat, size_t limit,
                  int *over);

/* Compile the catalogue's patterns into cat->db (compile.c). */
int mk_compile(mekiki_catalogue *cat, mekiki_error_fn err, void *ud);

#endif
