/*
 * mekiki.h -- public interface of libmekiki.
 *
 * libmekiki finds brand names written with look-alike, fullwidth or invisible
 * characters in UTF-8 text.  It knows nothing of Lua, rspamd or SpamAssassin;
 * those bind to this header.
 *
 * Ownership: a catalogue is built from the text of a brand map and is
 * immutable afterwards; it may be shared by threads.  A scanner holds the
 * scratch memory for one thread and refers to one catalogue, which must
 * outlive it.  Every function taking input bytes accepts arbitrary bytes
 * (invalid UTF-8, NULs) and never reads past the given length.  Objects
 * are opaque: they are made, read and freed only through these functions.
 *
 * Return conventions:
 *  - A function that can fail returns an int that is an enum mekiki_status:
 *    MEKIKI_OK (0) or a negative code.  Its results come back through its
 *    out-parameters, never as state left in an object for a later call to
 *    read.  The one exception is by design and explicit: a message is the
 *    container of its verdict, which mekiki_decide() (and
 *    mekiki_message_link_hosts(), mekiki_decide_networks()) fill and its
 *    accessors read until the next mekiki_message_reset().
 *  - Constructors (*_new, *_new_cached) return the object, or NULL with
 *    the reason in *status; mekiki_scanner_new() and mekiki_message_new()
 *    have no status argument (NULL: out of memory, or for the scanner a NULL
 *    catalogue or the matching engine's scratch refused), and
 *    mekiki_asn_open() gives its reason as text (a file's problems are not
 *    statuses).  *_free and mekiki_asn_close() accept NULL.
 *  - Accessors of an object that cannot fail return their value: counts,
 *    strings owned by the object, weights, flags, and predicates (non-zero
 *    for yes); where "none" is -1 rather than 0 or NULL it says so
 *    (mekiki_tld_map_weight(), mekiki_resolve_host(),
 *    mekiki_link_host_link()).
 *  - mekiki_skeleton(), mekiki_skeleton_weak() and
 *    mekiki_url_redirect_target() cannot fail either: by design they
 *    return the length of their whole result, snprintf-style, and write
 *    what fits in the caller's buffer.
 */
#ifndef MEKIKI_H
#define MEKIKI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MEKIKI_API __attribute__((visibility("default")))
#else
#define MEKIKI_API
#endif

#define MEKIKI_VERSION_MAJOR 0
#define MEKIKI_VERSION_MINOR 1
#define MEKIKI_VERSION_PATCH 0
#define MEKIKI_VERSION_STRING "0.1.0"

/*
 * The binary interface: raised whenever a function is added, or a function's
 * signature, a structure layout or a constant of this header changes (3: the
 * cache of compiled catalogues; 4: one scan entry point, mekiki_scan() with
 * flags and the invisible result as an out-parameter, replacing
 * mekiki_scan_flags(), mekiki_subject_claims() and mekiki_scan_invisible();
 * mekiki_asn_lookup() returns a status and says found through *found; 5:
 * mekiki_policy_set_hosting() and the symbol MEKIKI_URL_FREE_HOSTING; 6: the
 * campaign memory, mekiki_campaign_*() and mekiki_label_shape(); 7: the
 * label baselines, mekiki_label_map_new(), mekiki_domain_shape(),
 * mekiki_policy_set_labels(), the symbol MEKIKI_URL_RANDOM_LABEL, and
 * mekiki_message_add_lure() with the symbol MEKIKI_CAMPAIGN_LURE).  A
 * binding that loads the library at run time (the SpamAssassin plugin,
 * through FFI) compares it with the one it was written for and refuses
 * another; the Lua binding links the library in and cannot differ.
 */
#define MEKIKI_ABI_VERSION 7

/* Foreign code points remembered per hit; further ones are counted only. */
#define MEKIKI_MAX_FOREIGN 8

enum mekiki_status {
	MEKIKI_OK = 0,
	MEKIKI_ENOMEM = -1,   /* allocation failed */
	MEKIKI_EINVAL = -2,   /* bad argument */
	MEKIKI_EENGINE = -3,  /* the matching engine failed */
	MEKIKI_ELIMIT = -4,   /* a map beyond the catalogue's bounds (below) */
};

/* A short English phrase for a mekiki_status ("out of memory"). */
MEKIKI_API const char *mekiki_strerror(int status);

/*
 * Bounds of one catalogue.  Compiling costs time and memory in every
 * process that loads the map, and the cost follows the size of the
 * patterns the names become, not the size of the map: a short name whose
 * characters each have many look-alikes makes a large pattern.  Measured on
 * 2 cores, the shipped brand map (110 brands, 364 names) makes 63 KB of
 * patterns and compiles in 0.6 s with a peak of 31 MB; 512 KB of patterns
 * take 5 to 10 s and about 170 MB.  A map beyond a bound is refused whole
 * (MEKIKI_ELIMIT, the reason reported through the error callback with line
 * 0, or the line where the bound was passed), so a plugin keeps the
 * catalogue it had.  One name whose pattern alone exceeds
 * MEKIKI_MAX_NAME_PATTERN_BYTES, or that the engine refuses, is reported
 * and ignored like a bad line.
 */
#define MEKIKI_MAX_BRANDS 2000
#define MEKIKI_MAX_NAMES 4000
#define MEKIKI_MAX_PATTERN_BYTES (512u * 1024u)
#define MEKIKI_MAX_NAME_PATTERN_BYTES (16u * 1024u)

/* Hit flags. */
#define MEKIKI_HIT_CONFUSABLE 0x1u /* written differently from the brand name */
#define MEKIKI_HIT_WEAK 0x2u       /* only the weak skeleton matches (also CONFUSABLE) */

typedef struct mekiki_hit {
	uint32_t brand;   /* brand index, 0 .. mekiki_catalogue_brand_count()-1 */
	uint32_t name;    /* name index, 0 .. mekiki_catalogue_name_count()-1 */
	size_t start;     /* byte span of the hit in the scanned text */
	size_t end;
	uint32_t flags;   /* MEKIKI_HIT_* */
	uint32_t nforeign; /* occurrences of foreign code points in the span */
	uint32_t nlisted;  /* distinct ones listed in foreign[], at most 8 */
	uint32_t foreign[MEKIKI_MAX_FOREIGN];
} mekiki_hit;

typedef struct mekiki_catalogue mekiki_catalogue;
typedef struct mekiki_scanner mekiki_scanner;

/*
 * Called for each rejected map line; line is 1-based.  The parser's reports
 * come first, in line order, then the compiler's (a name it ignores, a map
 * beyond the bounds).
 */
typedef void (*mekiki_error_fn)(void *ud, unsigned line, const char *msg);

/* Library and Unicode data versions ("0.1.0", "15.0"). */
MEKIKI_API const char *mekiki_version(void);
MEKIKI_API const char *mekiki_unicode_version(void);
/* MEKIKI_ABI_VERSION of the library as built. */
MEKIKI_API int mekiki_abi_version(void);

/*
 * Strong skeleton of text (UTS #39 extended: NFKC, ignorables removed,
 * confusable prototypes, case folded).  Writes at most cap bytes to out and
 * returns the full length the skeleton needs, so a caller can size a buffer
 * with a first call of cap 0.  Invalid UTF-8 bytes become U+FFFD.
 */
MEKIKI_API size_t mekiki_skeleton(const char *text, size_t len, char *out, size_t cap);

/*
 * Weak (aggressive) skeleton: the strong one without combining marks (kana
 * voicing marks kept), with i folded into l and "vv" into "w".  Same
 * contract as mekiki_skeleton().
 */
MEKIKI_API size_t mekiki_skeleton_weak(const char *text, size_t len, char *out, size_t cap);

/*
 * Build a catalogue from a brand map (format in rules.d/mekiki_brands.map):
 *     id | name, name, ... | domain, domain, ... [| weight]
 * Bad lines are reported through err (may be NULL) and skipped.  Returns NULL
 * and sets *status on allocation or engine failure, or MEKIKI_ELIMIT for a
 * map beyond the bounds above; an empty map gives an empty catalogue that
 * finds nothing.
 */
MEKIKI_API mekiki_catalogue *mekiki_catalogue_new(const char *map, size_t len,
                                       mekiki_error_fn err, void *ud,
                                       int *status);

/*
 * The same, with a cache of compiled databases in the directory cache_dir
 * (NULL or "": none).  Compiling the names' patterns is nearly all a build
 * costs (about 0.6 s for the shipped map); a build whose compile input --
 * every pattern, this library's and Hyperscan's versions, the CPU features
 * -- matches a file there byte for byte, with an intact checksum, loads the
 * database instead.  Otherwise it compiles and stores the database
 * (written beside, then renamed; the directory is created if missing, at
 * most 16 files are kept, the least recently used removed).  A missing,
 * unwritable, stale or corrupt cache only costs the compile: the result is
 * the same catalogue.  The directory must be writable by the filter's user
 * alone: a database found there is trusted once its input matches.
 */
MEKIKI_API mekiki_catalogue *mekiki_catalogue_new_cached(const char *map, size_t len,
                                                         const char *cache_dir,
                                                         mekiki_error_fn err, void *ud,
                                                         int *status);
/*
 * What the cache did for cat, for a log line: "loaded from PATH",
 * "compiled and stored in PATH" (with why a file there was not used, if it
 * was stale or corrupt), "compiled; cannot ... : REASON"; "" without a
 * cache or without names.
 */
MEKIKI_API const char *mekiki_catalogue_cache_note(const mekiki_catalogue *cat);
MEKIKI_API void mekiki_catalogue_free(mekiki_catalogue *cat);

MEKIKI_API uint32_t mekiki_catalogue_brand_count(const mekiki_catalogue *cat);
MEKIKI_API uint32_t mekiki_catalogue_name_count(const mekiki_catalogue *cat);
MEKIKI_API const char *mekiki_catalogue_brand_id(const mekiki_catalogue *cat, uint32_t brand);
MEKIKI_API const char *mekiki_catalogue_name(const mekiki_catalogue *cat, uint32_t name);
/* The brand's weight from the map's optional fourth column (0 .. 1, default 1). */
MEKIKI_API double mekiki_catalogue_brand_weight(const mekiki_catalogue *cat, uint32_t brand);

/*
 * Non-zero when domain (case-insensitive, trailing dot ignored) is one of the
 * brand's domains or a subdomain of one.
 */
MEKIKI_API int mekiki_catalogue_brand_owns(const mekiki_catalogue *cat, uint32_t brand,
                                const char *domain, size_t len);

/*
 * Non-zero when a From address addr[0..len) ("local@domain") is the brand's
 * own: in one of its domains, where a domain marked '~' in the map (a mailbox
 * domain the brand runs and anyone can open: outlook.com, gmail.com) counts
 * only for its role mailboxes (postmaster, mailer-daemon: its own bounces).
 */
MEKIKI_API int mekiki_catalogue_brand_owns_sender(const mekiki_catalogue *cat, uint32_t brand,
                                                  const char *addr, size_t len);

MEKIKI_API mekiki_scanner *mekiki_scanner_new(const mekiki_catalogue *cat);
MEKIKI_API void mekiki_scanner_free(mekiki_scanner *sc);

/*
 * Invisible code points between two letters of a word (アカウ<U+FE09>ント,
 * Pay<U+200B>Pal): a word split to dodge filters, whether or not it is a
 * brand.  Joiners, the soft hyphen and variation selectors after kanji are
 * not counted.  A result of mekiki_scan(), for the text of that call.
 */
typedef struct mekiki_invisible {
	size_t count;        /* how many in the scanned text (0: none) */
	size_t first_offset; /* byte offset of the first one */
	uint32_t first_cp;   /* and its code point */
} mekiki_invisible;

/* mekiki_scan() flags. */
#define MEKIKI_SCAN_CONFUSABLE_ONLY 0x1u /* keep only MEKIKI_HIT_CONFUSABLE hits */
#define MEKIKI_SCAN_SUBJECT_CLAIMS 0x2u  /* the brands a subject's leading tags claim */
#define MEKIKI_SCAN_NOTICE_CLAIMS 0x4u   /* the brands a notice formula names */

/*
 * Find brand names in text[0..len): the one scan entry point.  Stores up to
 * max_hits hits in hits (may be NULL when max_hits is 0), in order of their
 * end offset, and their number in *nhits; when invisible is not NULL, fills
 * it with what this text holds of invisible code points in words.  Every
 * result of the call comes back through these arguments: a scanner keeps
 * nothing of a scan that a later call could read or change.  Returns
 * MEKIKI_OK, MEKIKI_EINVAL (NULL sc, nhits, or text or hits where a length
 * says there is one; a text over 4 GB; an unknown flag or the combination
 * refused below), MEKIKI_ENOMEM or MEKIKI_EENGINE; on an error *nhits is 0
 * and *invisible empty.  With max_hits 0, or a catalogue without names,
 * nothing is scanned: no hits, and no invisible code points reported.
 *
 * flags (0 for every name, as written plainly or not):
 *
 * MEKIKI_SCAN_CONFUSABLE_ONLY: names written plainly are neither stored nor
 * counted against max_hits, so a text that mentions a brand plainly many
 * times cannot push a look-alike out of the result (a filter needs only the
 * look-alikes of a long body).
 *
 * MEKIKI_SCAN_SUBJECT_CLAIMS: text is a subject, and the hits are the brand
 * claims at its head, where Japanese notices name their sender as a matter
 * of form: the leading bracketed tags ("【Amazon】...", "[List]
 * 【JRおでかけネット】...", "[Binance] ...": [], 【】, 〖〗, 〔〕, ［］, at most 4
 * tags of at most 96 bytes) whose whole content is a brand name, or a name
 * followed by a domain suffix ("【Amazon.co.jp】").  A tag with more in it
 * ("【Amazonギフト券プレゼント】") claims nothing, nor does a reply or forward
 * ("Re:", "Fwd:", "転送：" before the tag).  At most one hit per tag (spans
 * in the subject), written plainly or not.  Invisible code points are not
 * looked for in this mode (*invisible is empty), and it does not combine
 * with MEKIKI_SCAN_CONFUSABLE_ONLY (MEKIKI_EINVAL).  Whether the sender may
 * make the claim is the caller's question
 * (mekiki_catalogue_brand_owns_sender()).
 *
 * MEKIKI_SCAN_NOTICE_CLAIMS: text is the head of a message's text, and the
 * hits are the brands that the opening formula of Japanese service notices
 * names as their sender: a brand name that is the whole content of 「」 or
 * 『』 (on one line, at most 96 bytes; a name followed by a domain suffix
 * counts) directly followed by をご利用いただき or をご利用頂き
 * ("日頃より「えきねっと」をご利用いただきありがとうございます").  A name
 * without the brackets is no claim ("PayPayをご利用いただき" thanks for a
 * payment method as often as it names a sender).  The first 4 formulas are
 * looked at, at most one hit each; the same rules as
 * MEKIKI_SCAN_SUBJECT_CLAIMS otherwise (no invisible code points, not with
 * MEKIKI_SCAN_CONFUSABLE_ONLY, nor with MEKIKI_SCAN_SUBJECT_CLAIMS).
 *
 * Scratch memory grows with the text during its scan: about five times its
 * length for Cyrillic or Greek, up to 26 times for nothing but invalid
 * bytes, none for text that needs no rewriting (ASCII, most Japanese).
 * Between scans a scanner keeps at most 7 MB of it (a 4 MB stream buffer and
 * a 3 MB edit list, enough for about 500 KB of Cyrillic without an
 * allocation per scan); a longer text's scratch is freed when its scan ends,
 * so what a scanner holds does not grow with the longest text it has seen.
 */
MEKIKI_API int mekiki_scan(mekiki_scanner *sc, const char *text, size_t len, unsigned flags,
                           mekiki_hit *hits, size_t max_hits, size_t *nhits,
                           mekiki_invisible *invisible);

/* Host verdict flags. */
#define MEKIKI_HOST_BRAND_DOMAIN 0x01u /* inside one of brand's domains */
#define MEKIKI_HOST_LOOKALIKE 0x02u    /* imitates brand from a foreign domain */
#define MEKIKI_HOST_CONFUSABLE 0x04u   /* ... with look-alike characters */
#define MEKIKI_HOST_DOMAIN_LABEL 0x08u /* ... by a label of the brand's domain */
#define MEKIKI_HOST_MIXED_SCRIPT 0x10u /* a label mixes Latin with another script */
#define MEKIKI_HOST_IDN 0x20u          /* had IDNA (xn--) labels */
#define MEKIKI_HOST_FAMILY 0x40u       /* the registrable domain's label is the brand's
                                          (yahoo.com for yahoo.co.jp): not a look-alike */
/* (0x80: MEKIKI_HOST_ADDRESS, below) */

typedef struct mekiki_host_verdict {
	uint32_t flags;       /* MEKIKI_HOST_* */
	uint32_t brand;       /* the brand owning or imitated, else UINT32_MAX */
	uint32_t name;        /* the name found, for a name look-alike */
	char unicode[256];    /* the host, lower case, IDNA labels decoded */
	char registrable[256]; /* its registrable domain (Public Suffix List);
	                          "" for an IP address */
} mekiki_host_verdict;

/*
 * Does host[0..len) (a link's host, ASCII or IDNA or UTF-8) imitate a brand
 * of sc's catalogue?  Fills *v; returns MEKIKI_OK, or MEKIKI_EINVAL for an
 * empty or over-long (253 bytes) host.
 */
MEKIKI_API int mekiki_host_check(mekiki_scanner *sc, const char *host, size_t len,
                                 mekiki_host_verdict *v);

/*
 * Where a redirecting link goes: the first parameter of url[0..len)'s query
 * or fragment ('&', '?', '#' and ';' separate them; the value is what
 * follows '=', or the whole parameter) whose value is an absolute http(s)
 * URL (scheme in any case) as written, after percent-decoding once or twice
 * (https%253A%252F%252F...), or after base64 decoding (standard or URL-safe
 * alphabet, padding optional) of the value as written or percent-decoded
 * once, whole or without a leading "a1" (Bing's /ck/a?...&u=a1<base64url>).
 * A decoded value with control bytes is no URL; OpenID parameters other than
 * openid.return_to (namespaces and identifiers: openid.ns, openid.identity)
 * are skipped.  Writes the target to out as
 * printable ASCII (space and bytes over 0x7E percent-encoded), cut to cap - 1
 * bytes and NUL-terminated (when cap > 0), and returns the length of the
 * whole target, so the result was cut when it is cap or more; returns 0 when
 * there is none.  URLs over 8 KB and base64 values over 4 KB are not looked
 * at; the work is linear in len, and nothing is allocated.
 */
MEKIKI_API size_t mekiki_url_redirect_target(const char *url, size_t len, char *out,
                                             size_t cap);

/*
 * IP -> autonomous system, from a MaxMind DB file (GeoLite2-ASN, DB-IP ASN
 * Lite, or the one scripts/asn_csv2mmdb.pl builds): the records'
 * autonomous_system_number and autonomous_system_organization.  A database
 * is immutable once open and may be shared by threads.
 */
typedef struct mekiki_asn_db mekiki_asn_db;

#define MEKIKI_ASN_ORG_MAX 128 /* organisation names are cut to this, NUL included */

typedef struct mekiki_asn_info {
	uint32_t asn;
	char org[MEKIKI_ASN_ORG_MAX]; /* printable UTF-8, control bytes replaced by '?' */
} mekiki_asn_info;

/*
 * Open path; NULL on failure with the reason in err (if errlen > 0): missing
 * or unreadable file, not a MaxMind DB, corrupt metadata.
 */
MEKIKI_API mekiki_asn_db *mekiki_asn_open(const char *path, char *err, size_t errlen);
MEKIKI_API void mekiki_asn_close(mekiki_asn_db *db);

/* The database's build time (Unix seconds) and IP version (4 or 6). */
MEKIKI_API uint64_t mekiki_asn_build_epoch(const mekiki_asn_db *db);
MEKIKI_API unsigned mekiki_asn_ip_version(const mekiki_asn_db *db);

/*
 * Look up ip[0..len), a numeric IPv4 or IPv6 address (no name resolution;
 * "[::1]" brackets and an IPv6 zone are not accepted).  Returns MEKIKI_OK
 * with *found 1 and *out filled when the address is in a network with an AS
 * number, *found 0 when it is not (or an IPv6 address in an IPv4-only
 * database); MEKIKI_EINVAL for text that is not an address, MEKIKI_EENGINE
 * for a corrupt record (*found 0 on an error).
 */
MEKIKI_API int mekiki_asn_lookup(const mekiki_asn_db *db, const char *ip, size_t len,
                                 mekiki_asn_info *out, int *found);

/*
 * ASN weight map (format in rules.d/mekiki_asn.map), one line per network:
 *     AS14061  link=0.6 sender=0.2   # why
 *     AS13335  shared=0               # a CDN: many domains per address is normal
 * Weights are 0 .. 1 per context.  Bad lines are
 * reported through err and skipped; a later line for the same AS replaces the
 * contexts it names.
 */
typedef struct mekiki_asn_map mekiki_asn_map;

enum mekiki_asn_context {
	MEKIKI_ASN_SENDER = 0, /* the network that connected to the MX */
	MEKIKI_ASN_LINK = 1,   /* networks that link hosts resolve to */
	MEKIKI_ASN_SHARED = 2, /* unrelated domains on one address in it */
};
#define MEKIKI_ASN_CONTEXTS 3

MEKIKI_API mekiki_asn_map *mekiki_asn_map_new(const char *map, size_t len,
                                              mekiki_error_fn err, void *ud, int *status);
MEKIKI_API void mekiki_asn_map_free(mekiki_asn_map *map);
MEKIKI_API size_t mekiki_asn_map_count(const mekiki_asn_map *map);
/* The weight of asn in context, or dflt when the map does not give one. */
MEKIKI_API double mekiki_asn_map_weight(const mekiki_asn_map *map, uint32_t asn,
                                        enum mekiki_asn_context context, double dflt);

/*
 * TLD weight map (format in rules.d/mekiki_tld.map), one suffix per line:
 *     cn       1.0
 *     edu.cn   0.0     # a university's own mail
 * A suffix is letters, digits, '-' and '.' (whole labels, no empty one, at
 * most 253 bytes), the weight 0 .. 1 in decimal; '#' starts a comment.  Bad
 * lines are reported through err (the line quoted with every byte outside
 * printable ASCII as \xNN) and skipped; a later line for the same suffix
 * replaces an earlier one.
 */
typedef struct mekiki_tld_map mekiki_tld_map;

MEKIKI_API mekiki_tld_map *mekiki_tld_map_new(const char *map, size_t len,
                                              mekiki_error_fn err, void *ud, int *status);
MEKIKI_API void mekiki_tld_map_free(mekiki_tld_map *map);
MEKIKI_API size_t mekiki_tld_map_count(const mekiki_tld_map *map);
/*
 * The weight of the longest listed suffix of host[0..len) (whole labels,
 * ASCII case ignored, a trailing dot ignored), or -1 when none is listed;
 * the suffix starts at host + *suffix_off (when suffix_off is not NULL).
 */
MEKIKI_API double mekiki_tld_map_weight(const mekiki_tld_map *map, const char *host, size_t len,
                                        size_t *suffix_off);

/*
 * The shape of a domain label (the registrable domain's first label, e.g.
 * "abnpevb" of abnpevb.cn): whether it reads as words or names, or as
 * letters a program drew, as the throw-away domains of phishing waves do
 * (abnpevb.cn, msltqogjvukx.com).  A letter-bigram model of English words
 * and Japanese romaji (kuronekoyamato, mitsuisumitomo read as words) scores
 * label[0..len), ASCII case ignored; only its first 63 bytes (a DNS label's
 * limit) are read.  The label is
 *  - SHORT when it has fewer than 6 letters and digits, or fewer than 6
 *    letters (cnn, smbc, kkm111), or scores as random but in pieces of
 *    fewer than 6 letters (kpmg-jp): an acronym cannot be told from random;
 *  - MIXED when letters and digits alternate 3 times or more (a8r8m8:
 *    names with a number, quake3arena, alternate once or twice);
 *  - RANDOM when the mean log2 probability per bigram is below the
 *    threshold (measured on ham, see core/src/label.c);
 *  - WORD otherwise, and whenever the label has a byte outside letters,
 *    digits and '-', or is punycode ("xn--..."): punycode's letters are an
 *    encoding of another script's label chosen by the algorithm, not
 *    letters a person strung together, so the model does not apply.
 * *score (when score is not NULL) receives that mean: over the label's
 * letter runs (hyphens and digits end a run), the log2 probabilities of
 * the boundary to the first letter, each pair and the last letter to the
 * boundary, divided by their number; about -3.5 for words, -6.5 to -9 for
 * random letters; 0 when the label has no letter, is punycode or has a byte
 * outside [A-Za-z0-9-].  Never fails; label may be NULL when len is 0.
 */
#define MEKIKI_LABEL_SHORT 0  /* under 6 letters and digits, or under 6 letters: an acronym as
                                 likely as not */
#define MEKIKI_LABEL_WORD 1   /* reads as words or names */
#define MEKIKI_LABEL_RANDOM 2 /* letters no language strings together */
#define MEKIKI_LABEL_MIXED 3  /* letters and digits interleaved (a8r8m8, x7k2q9) */
MEKIKI_API int mekiki_label_shape(const char *label, size_t len, double *score);

/*
 * The built-in threshold of RANDOM, in bits of surprise per letter pair
 * (the negative of mekiki_label_shape()'s score): a label scoring below
 * -6.58 is random.
 */
#define MEKIKI_LABEL_RANDOM_BITS 6.58
#define MEKIKI_LABEL_BITS_MIN 1.0
#define MEKIKI_LABEL_BITS_MAX 16.0

/*
 * Label baselines (format in rules.d/mekiki_labels.map), one suffix per
 * line: the bits of surprise per letter pair above which a label of a
 * domain under that suffix is random, where the ham of a language the
 * model does not know scores lower than English and romaji do:
 *     pl       8.10    # Polish names: krzysztof 7.95, chrzaszcz 7.42
 * The TLD map's format and parser (mekiki_tld_map_new()), the value 1 to
 * 16 in decimal instead of a weight; scripts/label_baselines.py learns
 * the lines from ham.  A domain under no listed suffix has the built-in
 * MEKIKI_LABEL_RANDOM_BITS.  Look values up with mekiki_tld_map_weight().
 */
MEKIKI_API mekiki_tld_map *mekiki_label_map_new(const char *map, size_t len,
                                                mekiki_error_fn err, void *ud, int *status);

/*
 * The shape of a registrable domain's label (domain[0..len), e.g.
 * "krzysztof.pl": the shape of "krzysztof"), RANDOM judged against the
 * baseline of the domain's longest suffix listed in labels (NULL, or none
 * listed: the built-in threshold).  As mekiki_label_shape() otherwise;
 * never fails; domain may be NULL when len is 0.
 */
MEKIKI_API int mekiki_domain_shape(const mekiki_tld_map *labels, const char *domain, size_t len,
                                   double *score);

/*
 * The policy: mekiki's decisions on a message, one implementation for every
 * host.  A host's adapter (the rspamd plugin, the SpamAssassin plugin, the
 * CLI) extracts what the message says -- its subject, text parts, From
 * names and addresses, Reply-To, links -- into a message view, calls
 * mekiki_decide(), and inserts the verdict it reads back: symbols, each with
 * a score factor and options in a fixed order.  The same view always gives
 * the same verdict, and no verdict grows past the policy's bounds.
 *
 * A policy holds what the decisions read: the brand catalogue, the lure
 * phrases (a catalogue built from a lure map), the TLD weights and the
 * free-hosting suffixes (mekiki_policy_set_hosting()), each
 * optional (NULL: the symbols that need it are off) and borrowed (they must
 * outlive the policy), and the bounds.  It is immutable once its bounds are
 * set and may be shared by threads.  A message is one thread's view and
 * verdict; it keeps its scratch memory between messages.
 */
typedef struct mekiki_policy mekiki_policy;
typedef struct mekiki_message mekiki_message;

MEKIKI_API mekiki_policy *mekiki_policy_new(const mekiki_catalogue *brands,
                                            const mekiki_catalogue *lures,
                                            const mekiki_tld_map *tld, int *status);
MEKIKI_API void mekiki_policy_free(mekiki_policy *p);

/*
 * Set a bound by name, before the policy is used:
 *     max_text_bytes  bytes of each text looked at: subject, part, name (1048576)
 *     max_parts       text parts looked at (16)
 *     max_hits        look-alikes kept for the subject and body; hits per
 *                     display name (64; at most 1024)
 *     max_options     options listed per symbol (8; at most 256)
 *     max_urls        links looked at (200; at most 100000)
 *     shared_ip_min_domains  see mekiki_decide_networks() (2; at most 1000)
 * Returns MEKIKI_OK, or MEKIKI_EINVAL for an unknown name or a value out of
 * range (below 1, or above the limit given).
 */
MEKIKI_API int mekiki_policy_set_bound(mekiki_policy *p, const char *name, long long value);

/*
 * The free-hosting suffixes (rules.d/mekiki_hosting.map), before the
 * policy is used: a mekiki_tld_map built from that map's text (same format
 * and parser; the longest listed suffix of a host applies), borrowed like
 * the TLD map; NULL (the default) turns MEKIKI_URL_FREE_HOSTING off.  A
 * link host under a suffix listed with a weight above 0 gives
 * MEKIKI_URL_FREE_HOSTING (the host as option, the factor the highest
 * weight) and makes the message's infrastructure risky as a weighted TLD
 * does.  A host under any listed suffix, weight 0 included, is never a
 * brand's own (no MEKIKI_HOST_BRAND_DOMAIN, no redirect followed through
 * it), even when the brand map lists a domain above it: what is published
 * there is anyone's.  Returns MEKIKI_OK, or MEKIKI_EINVAL for a NULL p.
 */
MEKIKI_API int mekiki_policy_set_hosting(mekiki_policy *p, const mekiki_tld_map *hosting);

/*
 * The label baselines (mekiki_label_map_new()), before the policy is used,
 * borrowed like the TLD map; NULL (the default): every suffix has the
 * built-in threshold.  A link host whose registrable domain's label is
 * RANDOM or MIXED (mekiki_domain_shape()) and that is not a brand's own,
 * its family's nor under a listed free-hosting suffix gives
 * MEKIKI_URL_RANDOM_LABEL (the registrable domains as options); the
 * campaign memory's shapes read the same class.  Returns MEKIKI_OK, or
 * MEKIKI_EINVAL for a NULL p.
 */
MEKIKI_API int mekiki_policy_set_labels(mekiki_policy *p, const mekiki_tld_map *labels);

MEKIKI_API mekiki_message *mekiki_message_new(void);
MEKIKI_API void mekiki_message_free(mekiki_message *m);

/*
 * Start a message under policy p (which must outlive the message's use of
 * it, up to the next reset): forgets the previous view and verdict.  The
 * setters below copy what they are given, cut to the policy's bounds;
 * parts, From entries and links past the bounds are ignored.  (Addresses
 * are not cut at max_text_bytes -- a cut address is another address -- but
 * at 64 KB.)  Each returns
 * MEKIKI_OK, MEKIKI_ENOMEM, or MEKIKI_EINVAL before a reset.
 */
MEKIKI_API int mekiki_message_reset(mekiki_message *m, const mekiki_policy *p);

/* The decoded subject (once per message). */
MEKIKI_API int mekiki_message_set_subject(mekiki_message *m, const char *s, size_t len);

/*
 * A text part as the host decoded it (UTF-8), and raw, the part's bytes
 * before charset conversion when the host converted a part declared UTF-8
 * (or undeclared) from another charset (NULL otherwise): one invalid byte
 * can make a host re-decode a UTF-8 part as a legacy charset, turning every
 * look-alike letter into mojibake while mail clients still show it.
 */
MEKIKI_API int mekiki_message_add_part(mekiki_message *m, const char *text, size_t len,
                                       const char *raw, size_t raw_len);

/*
 * A From entry: the display name (may be empty) and the address
 * ("local@domain", may be empty), in header order; the first entry's
 * domain is the From domain.  At most 4 entries are kept.
 */
MEKIKI_API int mekiki_message_add_from(mekiki_message *m, const char *name, size_t name_len,
                                       const char *addr, size_t addr_len);

/*
 * The decoded From header as a whole.  A malformed From ("Microsoft
 * account team ,_<no-reply@...>") parses into entries none of whose names
 * is what a mail client shows; the header's text without its <addresses>
 * and words with an '@' then counts as the display name of the first
 * entry with an address.  Headers over 1 KB are not looked at.
 */
MEKIKI_API int mekiki_message_set_from_header(mekiki_message *m, const char *s, size_t len);

/* The Reply-To address, when the message has a Reply-To header. */
MEKIKI_API int mekiki_message_set_reply_to(mekiki_message *m, const char *addr, size_t len);

/* Facts about the message that the host knows (mekiki_message_set_flags). */
#define MEKIKI_MESSAGE_DMARC_FAIL 0x1u /* the From domain failed DMARC (reject,
                                          quarantine or softfail policy) */
#define MEKIKI_MESSAGE_REPORT 0x2u     /* a delivery report (multipart/report) */
MEKIKI_API int mekiki_message_set_flags(mekiki_message *m, unsigned flags);

/*
 * A link, in the host's order: its URL as written (for redirect targets),
 * its host, and the text shown for it -- the rendered text of an HTML
 * anchor without the alt texts of images in it (NULL for a URL found in
 * plain text).  Hosts over 253 bytes are ignored.
 */
MEKIKI_API int mekiki_message_add_link(mekiki_message *m, const char *url, size_t url_len,
                                       const char *host, size_t host_len,
                                       const char *shown, size_t shown_len);

/*
 * Decide: fills the verdict.  Returns MEKIKI_OK, MEKIKI_ENOMEM,
 * MEKIKI_EENGINE (the matcher failed), or MEKIKI_EINVAL before a reset.
 * The work is linear in the view's size.
 */
MEKIKI_API int mekiki_decide(mekiki_message *m);

/*
 * The verdict: symbols in a fixed order (that of the symbol table), each
 * with its score factor (the highest weight among its options: a brand's
 * weight from the brand map, a TLD's from the TLD map, a hosting suffix's
 * from the hosting map, else 1) and its
 * options.  Strings stay valid until the next reset.
 */
MEKIKI_API size_t mekiki_verdict_count(const mekiki_message *m);
MEKIKI_API const char *mekiki_verdict_symbol(const mekiki_message *m, size_t i);
MEKIKI_API double mekiki_verdict_factor(const mekiki_message *m, size_t i);
MEKIKI_API size_t mekiki_verdict_option_count(const mekiki_message *m, size_t i);
MEKIKI_API const char *mekiki_verdict_option(const mekiki_message *m, size_t i, size_t j);

/*
 * The distinct hosts the links go to (after redirects through a brand's own
 * redirector), in link order, for the network checks: the host, its
 * registrable domain ("" when unknown or an IP address), the weight of its
 * TLD (0 when not weighted), MEKIKI_HOST_* flags, and the index (0-based,
 * in the order of mekiki_message_add_link) of the link that first led
 * there, or -1 when that link was a redirect through a brand's own host.  Available after mekiki_decide(), or after
 * mekiki_message_link_hosts() alone (no claims decided: cheap).
 */
MEKIKI_API int mekiki_message_link_hosts(mekiki_message *m);
MEKIKI_API size_t mekiki_link_host_count(const mekiki_message *m);
MEKIKI_API const char *mekiki_link_host(const mekiki_message *m, size_t i);
MEKIKI_API const char *mekiki_link_host_registrable(const mekiki_message *m, size_t i);
MEKIKI_API double mekiki_link_host_tld_weight(const mekiki_message *m, size_t i);
MEKIKI_API unsigned mekiki_link_host_flags(const mekiki_message *m, size_t i);
MEKIKI_API long mekiki_link_host_link(const mekiki_message *m, size_t i);

/*
 * The link hosts worth resolving, most telling first: those in weighted
 * TLDs, by weight, then by name; never a brand's own host.  k-th of them as
 * an index for mekiki_link_host*(), or -1 past the end.  IP addresses are
 * among them (MEKIKI_HOST_ADDRESS: their address is their name).  The host
 * resolves at most as many as its own budget allows (max_dns for rspamd),
 * in this order, answers it has cached not counting against it.
 */
MEKIKI_API long mekiki_resolve_host(const mekiki_message *m, size_t k);
#define MEKIKI_HOST_ADDRESS 0x80u /* an IPv4 or IPv6 address, not a name */

/*
 * The networks, a second phase once the host has resolved the link hosts
 * (with its own asynchronous resolver): the policy's ASN database and map
 * (borrowed, as the catalogue is; NULL turns the network symbols off) ...
 */
MEKIKI_API int mekiki_policy_set_networks(mekiki_policy *p, const mekiki_asn_db *db,
                                          const mekiki_asn_map *map);
/* ... the sending IP (the address that connected to the MX, when not a
 * local one) ... */
MEKIKI_API int mekiki_message_set_sender_ip(mekiki_message *m, const char *ip, size_t len);
/*
 * ... each address of a link host: the host, the domain it counts as
 * (its registrable domain) and one numeric address ...
 */
MEKIKI_API int mekiki_message_add_host_address(mekiki_message *m, const char *host,
                                               size_t host_len, const char *domain,
                                               size_t domain_len, const char *addr,
                                               size_t addr_len);
/*
 * ... (for the campaign memory, mekiki_campaign_features()) the lure ids
 * the first phase's verdict gave, MEKIKI_LURE's options, when the networks
 * are decided on a message reset since: at most 4 (the first ones), each
 * of at most 63 bytes (a longer one is ignored), duplicates once.  A
 * message decided with mekiki_decide() has its own verdict's too.
 * Returns MEKIKI_OK, MEKIKI_EINVAL (NULL with a length) or MEKIKI_ENOMEM ...
 */
MEKIKI_API int mekiki_message_add_lure(mekiki_message *m, const char *id, size_t len);
/*
 * ... and the decision: MEKIKI_SENDER_ASN, MEKIKI_URL_ASN and
 * MEKIKI_URL_SHARED_IP (bound "shared_ip_min_domains": unrelated domains
 * on one address to count, 2) added to the verdict, replacing those of an
 * earlier call.  It needs only the sender and the addresses given since
 * the reset, so a host whose resolver answers later may reset the message
 * and give just those.
 */
MEKIKI_API int mekiki_decide_networks(mekiki_message *m);

/*
 * Campaign memory: what a message's infrastructure shares with confident
 * detections remembered from earlier messages, by this filter or by others
 * sharing a store (rspamd's Redis).  The store is the host's: the engine
 * names the features to look up and to remember, and decides what the
 * remembered counts mean; the host reads the counts in one request, and
 * writes a message's learnable features only when its own rule calls the
 * message a confident detection (never from campaign symbols alone).
 *
 * mekiki_campaign_features(), after the sender and the link hosts'
 * addresses are given (as for mekiki_decide_networks()), lists at most
 * MEKIKI_CAMPAIGN_MAX_FEATURES features, each a printable ASCII key of at
 * most 300 bytes with no space:
 *     f:NET             the sending network (/24, IPv6 /48), when the ASN
 *                       map gives its network a sender weight (a mailing
 *                       list's or forwarder's network never is one)
 *     a:ADDR            an address a link host resolves to
 *     d:DOMAIN          a risky link host's registrable domain
 *     n:SHAPE@NET       a risky link host's shape in its /24 (/48)
 *     s:SHAPE@ASN       ... in its autonomous system
 *     l:LURE@SHAPE      a lure id (mekiki_message_add_lure(), or this
 *                       message's own MEKIKI_LURE) with a risky link
 *                       host's shape, on any network: the wave's words and
 *                       its links' make after it moved to another provider
 * A link host is risky when its TLD or hosting suffix is weighted, it
 * imitates a brand, it is an address, or its registrable label is random
 * or mixed (mekiki_label_shape()); its SHAPE is the public suffix, the
 * label's class and a length bucket ("cn~r1": a random label of 6 to 8
 * characters under cn; "ip" for an address).  Addresses that are not
 * public (private, loopback, link-local, multicast, shared address space)
 * and addresses in networks the ASN map gives shared=0 (CDNs: thousands of
 * unrelated sites on one address) give no address or network feature.
 * Every feature is looked up; mekiki_campaign_feature_learn() says which
 * are remembered from a confident detection (the sending network and the
 * risky hosts' features; an address only of a risky host).
 *
 * mekiki_campaign_set_count() gives what the store holds for feature i:
 * the text of a count, 1 to 9999999 in decimal digits; anything else (a
 * value written by something else, a poisoned key) counts as nothing.
 * mekiki_decide_campaign() then adds to the verdict MEKIKI_CAMPAIGN_ADDRESS
 * (a link host on a remembered address), MEKIKI_CAMPAIGN_DOMAIN,
 * MEKIKI_CAMPAIGN_NETWORK (a risky host of a remembered shape in a
 * remembered /24 or /48), MEKIKI_CAMPAIGN_SHAPE (... in a remembered
 * autonomous system), MEKIKI_CAMPAIGN_LURE (a remembered lure with a risky
 * host of a remembered shape) and MEKIKI_CAMPAIGN_SENDER (the sending
 * network),
 * each with the evidence and its count as options ("host:203.0.113.7:3"),
 * replacing those of an earlier call; mekiki_decide_networks() forgets
 * them.  The features and counts are forgotten at the next reset or
 * mekiki_campaign_features().
 */
#define MEKIKI_CAMPAIGN_MAX_FEATURES 32
MEKIKI_API int mekiki_campaign_features(mekiki_message *m);
MEKIKI_API size_t mekiki_campaign_feature_count(const mekiki_message *m);
MEKIKI_API const char *mekiki_campaign_feature(const mekiki_message *m, size_t i);
MEKIKI_API int mekiki_campaign_feature_learn(const mekiki_message *m, size_t i);
MEKIKI_API int mekiki_campaign_set_count(mekiki_message *m, size_t i, const char *value,
                                         size_t len);
MEKIKI_API int mekiki_decide_campaign(mekiki_message *m);

#ifdef __cplusplus
}
#endif

#endif /* MEKIKI_H */
