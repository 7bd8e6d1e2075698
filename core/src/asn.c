/*
 * asn.c -- which network (autonomous system) an address sits in, and how
 * much an operator distrusts it.
 *
 * Lookups read MaxMind DB files with libmaxminddb (memory-mapped, no writes,
 * no sockets).  The mapping is of a private copy in memory (a sealed memfd),
 * never of the operator's file: libmaxminddb maps the file it opens, and a
 * file mapped by a process and then truncated or overwritten in place (cp
 * over it, a cron job's download) makes every later read of the mapping
 * fault (SIGBUS) -- in rspamd, every worker, on every message.  Only numeric addresses are accepted: the text is parsed with
 * inet_pton here, never handed to getaddrinfo, so a lookup cannot trigger a
 * name resolution.  The weight map is a small sorted array searched by
 * bisection.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mekiki.h"
#include "utf8.h"

struct mekiki_asn_db {
	MMDB_s mmdb;
};

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, a, b);
}

/* Databases bigger than this are refused (GeoLite2-ASN is about 10 MB). */
#define MK_ASN_MAX_BYTES ((off_t)512 << 20)

/*
 * Copy the regular file at path into a sealed memfd; its descriptor, or -1
 * with errno set (EFBIG: too big; ENOSYS and the like: no memfd here).  A
 * file changed while it is copied gives a torn copy, which MMDB_open()'s
 * checks or the lookups' bounds checks reject; the plugin reopens the file
 * when its modification time changes.
 */
__attribute__((noinline)) static int private_copy(const char *path)
{
	int in = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (in < 0)
		return -1;
	struct stat st;
	if (fstat(in, &st) != 0) {
		int e = errno;
		close(in);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > MK_ASN_MAX_BYTES) {
		close(in);
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		return -1;
	}
	int fd = memfd_create("mekiki-asn", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		int e = errno;
		close(in);
		errno = e;
		return -1;
	}
	char buf[65536];
	off_t total = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				goto fail;
			break;
		}
		total += n;
		if (total > MK_ASN_MAX_BYTES) {
			errno = EFBIG;
			goto fail;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto fail;
			off += w;
		}
	}
	close(in);
	/* Nobody, this process included, can change the copy any more. */
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	return fd;
fail:;
	int e = errno;
	close(in);
	close(fd);
	errno = e;
	return -1;
}

mekiki_asn_db *mekiki_asn_open(const char *path, char *err, size_t errlen)
{
	if (!path || !*path) {
		set_err(err, errlen, "%s%s", "no database path given", "");
		return NULL;
	}
	mekiki_asn_db *db = calloc(1, sizeof *db);
	if (!db) {
		set_err(err, errlen, "%s%s", "out of memory", "");
		return NULL;
	}
	errno = 0;
	int fd = private_copy(path);
	if (fd < 0 && (errno == ENOENT || errno == EACCES || errno == EFBIG || errno == EINVAL ||
	               errno == EISDIR || errno == ENOTDIR || errno == ELOOP || errno == EIO)) {
		int e = errno;
		set_err(err, errlen, "%s: %s", path,
		        e == EFBIG ? "bigger than 512 MB" : e == EINVAL ? "not a regular file" : strerror(e));
		free(db);
		return NULL;
	}
	char copy[64];
	const char *open_path = path; /* no memfd here: map the file itself */
	if (fd >= 0) {
		snprintf(copy, sizeof copy, "/proc/self/fd/%d", fd);
		open_path = copy;
	}
	errno = 0;
	int rc = MMDB_open(open_path, MMDB_MODE_MMAP, &db->mmdb);
	int e = errno;
	if (rc != MMDB_SUCCESS && fd >= 0) {
		/* No /proc: map the file itself, as before. */
		if (rc == MMDB_FILE_OPEN_ERROR && e == ENOENT) {
			errno = 0;
			rc = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
			e = errno;
		}
	}
	if (fd >= 0)
		close(fd); /* the mapping keeps the copy */
	if (rc != MMDB_SUCCESS) {
		const char *why = (rc == MMDB_FILE_OPEN_ERROR || rc == MMDB_IO_ERROR) && e
		                      ? strerror(e)
		                      : MMDB_strerror(rc);
		set_err(err, errlen, "%s: %s", path, why);
		free(db);
		return NULL;
	}
	return db;
}

void mekiki_asn_close(mekiki_asn_db *db)
{
	if (!db)
		return;
	MMDB_close(&db->mmdb);
	free(db);
}

uint64_t mekiki_asn_build_epoch(const mekiki_asn_db *db)
{
	return db ? db->mmdb.metadata.build_epoch : 0;
}

unsigned mekiki_asn_ip_version(const mekiki_asn_db *db)
{
	return db ? db->mmdb.metadata.ip_version : 0;
}

/* Copy a database string, replacing control bytes so it is safe in logs and
 * symbol options; cut at a UTF-8 boundary. */
static void copy_org(char *dst, size_t cap, const char *src, size_t n)
{
	if (n > cap - 1) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--; /* do not split a code point */
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	dst[n] = '\0';
}

/* 1: found, 0: not in the database, or a negative mekiki_status. */
static int lookup(const mekiki_asn_db *db, const char *ip, size_t len, mekiki_asn_info *out)
{
	if (!db || !ip || !out || len == 0 || len >= INET6_ADDRSTRLEN)
		return MEKIKI_EINVAL;
	char buf[INET6_ADDRSTRLEN];
	memcpy(buf, ip, len);
	buf[len] = '\0';
	if (memchr(buf, '\0', len))
		return MEKIKI_EINVAL;

	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} addr;
	memset(&addr, 0, sizeof addr);
	if (inet_pton(AF_INET, buf, &addr.in4.sin_addr) == 1) {
		addr.in4.sin_family = AF_INET;
	} else if (inet_pton(AF_INET6, buf, &addr.in6.sin6_addr) == 1) {
		addr.in6.sin6_family = AF_INET6;
		if (db->mmdb.metadata.ip_version == 4) {
			/* An IPv4-mapped address can still be answered. */
			if (!IN6_IS_ADDR_V4MAPPED(&addr.in6.sin6_addr))
				return 0;
			struct in_addr v4;
			memcpy(&v4, &addr.in6.sin6_addr.s6_addr[12], 4);
			memset(&addr, 0, sizeof addr);
			addr.in4.sin_family = AF_INET;
			addr.in4.sin_addr = v4;
		}
	} else {
		return MEKIKI_EINVAL;
	}

	int mmdb_error = MMDB_SUCCESS;
	MMDB_lookup_result_s r = MMDB_lookup_sockaddr((MMDB_s *)&db->mmdb, &addr.sa, &mmdb_error);
	if (mmdb_error != MMDB_SUCCESS) {
		/* An IPv6 address in an IPv4 database is simply not in it. */
		return mmdb_error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR ? 0 : MEKIKI_EENGINE;
	}
	if (!r.found_entry)
		return 0;

	MMDB_entry_data_s d;
	int rc = MMDB_get_value(&r.entry, &d, "autonomous_system_number", NULL);
	if (rc != MMDB_SUCCESS) {
		return rc == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR ? 0 : MEKIKI_EENGINE;
	}
	if (!d.has_data)
		return 0;
	switch (d.type) {
	case MMDB_DATA_TYPE_UINT32:
		out->asn = d.uint32;
		break;
	case MMDB_DATA_TYPE_UINT16:
		out->asn = d.uint16;
		break;
	case MMDB_DATA_TYPE_UINT64:
		if (d.uint64 > UINT32_MAX)
			return MEKIKI_EENGINE;
		out->asn = (uint32_t)d.uint64;
		break;
	case MMDB_DATA_TYPE_INT32:
		if (d.int32 < 0)
			return MEKIKI_EENGINE;
		out->asn = (uint32_t)d.int32;
		break;
	default:
		return MEKIKI_EENGINE;
	}
	out->org[0] = '\0';
	rc = MMDB_get_value(&r.entry, &d, "autonomous_system_organization", NULL);
	if (rc == MMDB_SUCCESS && d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING)
		copy_org(out->org, sizeof out->org, d.utf8_string, d.data_size);
	return 1;
}

int mekiki_asn_lookup(const mekiki_asn_db *db, const char *ip, size_t len, mekiki_asn_info *out,
                      int *found)
{
	if (!found)
		return MEKIKI_EINVAL;
	int r = lookup(db, ip, len, out);
	*found = r == 1;
	return r < 0 ? r : MEKIKI_OK;
}

/* ---- the weight map ---------------------------------------------------- */

struct asn_weight {
	uint32_t asn;
	uint32_t order; /* line order, so that a later line wins */
	float w[MEKIKI_ASN_CONTEXTS]; /* by mekiki_asn_context */
	uint8_t set[MEKIKI_ASN_CONTEXTS];
};

struct mekiki_asn_map {
	struct asn_weight *v;
	size_t n, cap;
};

#define MAX_LINE 4096

static void reportf(mekiki_error_fn err, void *ud, unsigned line, const char *what,
                    const char *s, size_t n)
{
	if (!err)
		return;
	char quoted[4 * 64 + 1], msg[384];
	mk_printable_excerpt(s, n, quoted, 64);
	snprintf(msg, sizeof msg, "%s: \"%s\"", what, quoted);
	err(ud, line, msg);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* A weight "0", "1", "0.25", ".5": digits with at most one point, 0..1. */
static int parse_weight(const char *s, const char *e, float *out)
{
	if (s == e || e - s > 16)
		return -1;
	char buf[17];
	int dots = 0;
	for (const char *p = s; p < e; p++) {
		if (*p == '.')
			dots++;
		else if (*p < '0' || *p > '9')
			return -1;
	}
	if (dots > 1 || (dots == 1 && e - s == 1))
		return -1;
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = '\0';
	double v = strtod(buf, NULL);
	if (!(v >= 0.0 && v <= 1.0))
		return -1;
	*out = (float)v;
	return 0;
}

/* One line: AS<number> (or just the number), then context=weight tokens. */
static int parse_asn_line(struct asn_weight *w, const char *s, const char *e,
                          const char **why)
{
	const char *p = s;
	if (e - p >= 2 && (p[0] == 'A' || p[0] == 'a') && (p[1] == 'S' || p[1] == 's'))
		p += 2;
	const char *d = p;
	uint64_t asn = 0;
	while (p < e && *p >= '0' && *p <= '9' && p - d < 11)
		asn = asn * 10 + (uint64_t)(*p++ - '0');
	if (p == d || asn > UINT32_MAX || (p < e && !is_space(*p))) {
		*why = "expected an AS number (AS14061 or 14061)";
		return -1;
	}
	memset(w, 0, sizeof *w);
	w->asn = (uint32_t)asn;
	int tokens = 0;
	while (p < e) {
		while (p < e && is_space(*p))
			p++;
		if (p == e)
			break;
		const char *t = p;
		while (p < e && !is_space(*p))
			p++;
		const char *eq = memchr(t, '=', (size_t)(p - t));
		int ctx = -1;
		if (eq && eq - t == 6 && !strncmp(t, "sender", 6))
			ctx = MEKIKI_ASN_SENDER;
		else if (eq && eq - t == 4 && !strncmp(t, "link", 4))
			ctx = MEKIKI_ASN_LINK;
		else if (eq && eq - t == 6 && !strncmp(t, "shared", 6))
			ctx = MEKIKI_ASN_SHARED;
		if (ctx < 0) {
			*why = "expected sender=WEIGHT, link=WEIGHT or shared=WEIGHT";
			return -1;
		}
		if (parse_weight(eq + 1, p, &w->w[ctx]) < 0) {
			*why = "weight must be a number from 0 to 1";
			return -1;
		}
		w->set[ctx] = 1;
		tokens++;
	}
	if (!tokens) {
		*why = "no weight given (sender=, link= or shared=WEIGHT)";
		return -1;
	}
	return 0;
}

static int cmp_asn(const void *a, const void *b)
{
	const struct asn_weight *x = a, *y = b;
	if (x->asn != y->asn)
		return x->asn < y->asn ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_key(const void *a, const void *b)
{
	const struct asn_weight *x = a, *y = b;
	return x->asn < y->asn ? -1 : x->asn > y->asn;
}

mekiki_asn_map *mekiki_asn_map_new(const char *map, size_t len, mekiki_error_fn err, void *ud,
                                   int *status)
{
	int st = MEKIKI_OK;
	mekiki_asn_map *m = calloc(1, sizeof *m);
	if (!m) {
		st = MEKIKI_ENOMEM;
		goto out;
	}
	const char *end = map ? map + len : map;
	unsigned line = 0;
	for (const char *s = map, *next; s && s < end; s = next) {
		const char *e = memchr(s, '\n', (size_t)(end - s));
		next = e ? e + 1 : end;
		e = e ? e : end;
		line++;
		if (e - s > MAX_LINE) {
			reportf(err, ud, line, "line longer than 4096 bytes", "", 0);
			continue;
		}
		const char *h = memchr(s, '#', (size_t)(e - s));
		if (h)
			e = h;
		while (s < e && is_space(*s))
			s++;
		while (e > s && is_space(e[-1]))
			e--;
		if (s == e)
			continue;
		struct asn_weight w;
		const char *why = NULL;
		if (memchr(s, '\0', (size_t)(e - s))) {
			reportf(err, ud, line, "NUL byte in line", "", 0);
			continue;
		}
		if (parse_asn_line(&w, s, e, &why) < 0) {
			reportf(err, ud, line, why, s, (size_t)(e - s));
			continue;
		}
		if (m->n == m->cap) {
			size_t cap = m->cap ? m->cap * 2 : 64;
			struct asn_weight *v = realloc(m->v, cap * sizeof *v);
			if (!v) {
				st = MEKIKI_ENOMEM;
				goto out;
			}
			m->v = v;
			m->cap = cap;
		}
		w.order = (uint32_t)m->n;
		m->v[m->n++] = w;
	}
	/* By AS, then line order; repeated lines fold into the first. */
	if (m->n)
		qsort(m->v, m->n, sizeof *m->v, cmp_asn);
	size_t k = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (k && m->v[k - 1].asn == m->v[i].asn) {
			for (int c = 0; c < MEKIKI_ASN_CONTEXTS; c++)
				if (m->v[i].set[c]) {
					m->v[k - 1].w[c] = m->v[i].w[c];
					m->v[k - 1].set[c] = 1;
				}
		} else {
			m->v[k++] = m->v[i];
		}
	}
	m->n = k;
out:
	if (status)
		*status = st;
	if (st != MEKIKI_OK) {
		mekiki_asn_map_free(m);
		return NULL;
	}
	return m;
}

void mekiki_asn_map_free(mekiki_asn_map *map)
{
	if (!map)
		return;
	free(map->v);
	free(map);
}

size_t mekiki_asn_map_count(const mekiki_asn_map *map)
{
	return map ? map->n : 0;
}

double mekiki_asn_map_weight(const mekiki_asn_map *map, uint32_t asn,
                             enum mekiki_asn_context context, double dflt)
{
	if (!map || !map->n || (unsigned)context >= MEKIKI_ASN_CONTEXTS)
		return dflt;
	struct asn_weight key = { .asn = asn };
	const struct asn_weight *w = bsearch(&key, map->v, map->n, sizeof key, cmp_key);
	return w && w->set[context] ? (double)w->w[context] : dflt;
}
