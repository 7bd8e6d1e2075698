/*
 * cache.c -- compiled databases kept in a directory between processes.
 *
 * Compiling a catalogue's patterns is almost all of what building it costs
 * (0.5-2 s for the shipped map, each rspamd worker and each one-shot
 * `spamassassin -t`).  A cache file holds the serialised Hyperscan database
 * with the exact compile input it came from (the expressions, their flags
 * and ids, the library's and Hyperscan's versions and the CPU features it
 * was built for) and a checksum of the whole.  A file is used only when its
 * input is byte for byte the one at hand and the checksum holds; anything
 * else -- missing, stale, cut short, changed in place, written by another
 * version -- costs a compile and is replaced.  Files are written beside
 * their final name and renamed into place, so a reader never sees a partial
 * one; at most MK_CACHE_KEEP of them are kept (the least recently used go).
 *
 * The only place libmekiki writes files (tests/lua/check_no_io.py checks that
 * open, write, rename, unlink and mkdir are called from here alone, and
 * from asn.c's private copy).  The directory must be writable only by the
 * user running the filter: a database in it is trusted once it matches.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"

#define MK_CACHE_MAGIC "MEKIKIDB"
#define MK_CACHE_FORMAT 1u
/* Cache files kept in a directory (one per map version in use). */
#define MK_CACHE_KEEP 16
/* A bigger file is not read: the bounds of mekiki.h give databases of a
 * few megabytes; 512 KB of patterns made 40 MB at most when measured. */
#define MK_CACHE_MAX_BYTES (256u * 1024u * 1024u)

struct header {
	char magic[8];
	uint32_t format;
	uint32_t reserved;
	uint64_t keylen;
	uint64_t dblen;
	uint64_t checksum; /* of everything after the header */
};

/* FNV-1a, 64 bits: finds corruption (not an adversary: see above). */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}
#define FNV_INIT 0xcbf29ce484222325ull

int mk_key_add(struct mk_key *k, const void *p, size_t n)
{
	if (k->len + n + 4 > k->cap) {
		size_t cap = k->cap ? k->cap : 4096;
		while (cap < k->len + n + 4)
			cap *= 2;
		unsigned char *b = realloc(k->bytes, cap);
		if (!b)
			return -1;
		k->bytes = b;
		k->cap = cap;
	}
	/* Each piece with its length: no two inputs give the same key. */
	uint32_t len = (uint32_t)n;
	memcpy(k->bytes + k->len, &len, 4);
	memcpy(k->bytes + k->len + 4, p, n);
	k->len += n + 4;
	return 0;
}

void mk_key_free(struct mk_key *k)
{
	free(k->bytes);
	memset(k, 0, sizeof *k);
}

static void file_name(char *out, size_t cap, const char *dir, const struct mk_key *k)
{
	snprintf(out, cap, "%s/mekiki-%016llx.hsdb", dir,
	         (unsigned long long)fnv(FNV_INIT, k->bytes, k->len));
}

static void note(char *out, size_t cap, const char *fmt, const char *a, const char *b)
{
	if (cap)
		snprintf(out, cap, fmt, a, b);
}

/* The whole of fd into a new buffer, at most MK_CACHE_MAX_BYTES; NULL if not. */
static unsigned char *read_all(int fd, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(struct header) ||
	    (uint64_t)st.st_size > MK_CACHE_MAX_BYTES)
		return NULL;
	size_t n = (size_t)st.st_size, got = 0;
	unsigned char *b = malloc(n);
	while (b && got < n) {
		ssize_t r = read(fd, b + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (b && got != n) {
		free(b);
		return NULL;
	}
	*len = n;
	return b;
}

int mk_cache_load(const char *dir, const struct mk_key *key, hs_database_t **db, char *msg,
                  size_t msgcap)
{
	char path[4096];
	file_name(path, sizeof path, dir, key);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		/* (none yet is no news) */
		note(msg, msgcap, "%s%s", errno == ENOENT ? "" : strerror(errno), "");
		return -1;
	}
	size_t n = 0;
	unsigned char *b = read_all(fd, &n);
	close(fd);
	struct header h;
	const char *bad = NULL;
	if (!b) {
		bad = "unreadable, not a regular file or of a wrong size";
	} else {
		memcpy(&h, b, sizeof h);
		size_t body = n - sizeof h;
		if (memcmp(h.magic, MK_CACHE_MAGIC, 8) || h.format != MK_CACHE_FORMAT)
			bad = "not a cache file of this version";
		else if (h.keylen != key->len || key->len > body || h.dblen != body - key->len)
			bad = "stale (another compile input) or cut short";
		else if (fnv(FNV_INIT, b + sizeof h, body) != h.checksum)
			bad = "corrupt (checksum)";
		else if (memcmp(b + sizeof h, key->bytes, key->len))
			bad = "stale (another compile input)";
	}
	if (!bad && hs_deserialize_database((const char *)b + sizeof h + key->len, h.dblen, db) !=
	                    HS_SUCCESS)
		bad = "refused by Hyperscan";
	free(b);
	if (bad) {
		note(msg, msgcap, "%s%s", bad, "");
		return -1;
	}
	/* Used: the least recently used files are the ones pruned. */
	utimensat(AT_FDCWD, path, NULL, 0);
	note(msg, msgcap, "loaded from %s%s", path, "");
	return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Remove the least recently used cache files beyond MK_CACHE_KEEP. */
static void prune(const char *dir, const char *keep)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	for (;;) {
		struct dirent *e;
		char oldest[256] = "";
		struct timespec t = {0, 0};
		unsigned count = 0;
		rewinddir(d);
		while ((e = readdir(d))) {
			size_t n = strlen(e->d_name);
			struct stat st;
			if (strncmp(e->d_name, "mekiki-", 7) || n < 12 || n >= sizeof oldest ||
			    strcmp(e->d_name + n - 5, ".hsdb") ||
			    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
				continue;
			count++;
			if (strcmp(e->d_name, keep) &&
			    (!oldest[0] || st.st_mtim.tv_sec < t.tv_sec ||
			     (st.st_mtim.tv_sec == t.tv_sec && st.st_mtim.tv_nsec < t.tv_nsec))) {
				memcpy(oldest, e->d_name, n + 1);
				t = st.st_mtim;
			}
		}
		if (count <= MK_CACHE_KEEP || !oldest[0] || unlinkat(dirfd(d), oldest, 0))
			break;
	}
	closedir(d);
}

int mk_cache_store(const char *dir, const struct mk_key *key, const hs_database_t *db, char *msg,
                   size_t msgcap)
{
	char path[4096], tmp[4096];
	file_name(path, sizeof path, dir, key);
	if (snprintf(tmp, sizeof tmp, "%s/.mekiki-XXXXXX", dir) >= (int)sizeof tmp) {
		note(msg, msgcap, "compiled; cannot store it in %s: %s", dir, "path too long");
		return -1;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		note(msg, msgcap, "compiled; cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	char *bytes = NULL;
	size_t dblen = 0;
	if (hs_serialize_database(db, &bytes, &dblen) != HS_SUCCESS) {
		note(msg, msgcap, "compiled; %s: %s", path, "Hyperscan cannot serialise the database");
		return -1;
	}
	struct header h;
	memcpy(h.magic, MK_CACHE_MAGIC, 8);
	h.format = MK_CACHE_FORMAT;
	h.reserved = 0;
	h.keylen = key->len;
	h.dblen = dblen;
	h.checksum = fnv(fnv(FNV_INIT, key->bytes, key->len), bytes, dblen);
	int fd = mkstemp(tmp), rc = -1;
	if (fd < 0) {
		note(msg, msgcap, "compiled; cannot write in %s: %s", dir, strerror(errno));
	} else {
		int werr = fchmod(fd, 0644) || write_all(fd, &h, sizeof h) ||
		           write_all(fd, key->bytes, key->len) || write_all(fd, bytes, dblen);
		werr = close(fd) || werr;
		if (werr || rename(tmp, path))
			note(msg, msgcap, "compiled; cannot write %s: %s", path, strerror(errno));
		else
			rc = 0;
		if (rc)
			unlink(tmp);
	}
	free(bytes);
	if (rc == 0) {
		prune(dir, strrchr(path, '/') + 1);
		note(msg, msgcap, "compiled and stored in %s%s", path, "");
	}
	return rc;
}
