/*
 * heap.h -- what the unit tests know of glibc's heap: the bytes in use
 * (mallinfo2, glibc 2.33 and later; HAVE_MALLINFO2 says whether it is
 * there), for tests of the memory a scanner or the binding keeps.
 */
#ifndef MEKIKI_TEST_HEAP_H
#define MEKIKI_TEST_HEAP_H

#include <stdlib.h>

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_MALLINFO2 1

/* Bytes in use from glibc's malloc (its arenas and its mmapped blocks). */
static inline long long heap_in_use(void)
{
	struct mallinfo2 m = mallinfo2();
	return (long long)(m.uordblks + m.hblkhd);
}

/* Does heap_in_use() see this process's allocations?  Not under
 * AddressSanitizer or valgrind, whose allocators glibc does not count. */
static inline int heap_counted(void)
{
	long long before = heap_in_use();
	char *volatile p = malloc(8 << 20);
	if (!p)
		return 0;
	p[0] = 1;
	long long during = heap_in_use();
	free(p);
	return during - before >= (8 << 20);
}
#endif

#endif
