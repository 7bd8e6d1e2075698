/*
 * cache.h -- compiled databases kept in a directory between processes
 * (cache.c).  Private to libmekiki.
 */
#ifndef MEKIKI_CACHE_H
#define MEKIKI_CACHE_H

#include <hs.h>
#include <stddef.h>
#include <stdint.h>

/* The exact compile input a database comes from: pieces, each with its length. */
struct mk_key {
	unsigned char *bytes;
	size_t len, cap;
};

int mk_key_add(struct mk_key *k, const void *p, size_t n);
void mk_key_free(struct mk_key *k);

/*
 * The database compiled from key, from dir: 0 and *db set, or -1 (none
 * usable, the reason in msg).
 */
int mk_cache_load(const char *dir, const struct mk_key *key, hs_database_t **db, char *msg,
                  size_t msgcap);

/* Store db, compiled from key, in dir: 0, or -1 with the reason in msg. */
int mk_cache_store(const char *dir, const struct mk_key *key, const hs_database_t *db, char *msg,
                   size_t msgcap);

#endif
