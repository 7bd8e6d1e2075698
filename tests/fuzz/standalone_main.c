/*
 * standalone_main.c -- replays inputs through a fuzz target without
 * libFuzzer: each argument is a file or a directory of files, each file one
 * input.  ctest runs it over the seed corpus and the regression inputs in
 * the ordinary and the sanitizer builds, so a crash once found stays fixed.
 */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static unsigned long run_file(const char *path)
{
	size_t len;
	char *buf = fuzz_read_file(path, &len);
	/* An exact-size copy, so the sanitizer sees any read past the end. */
	uint8_t *in = malloc(len ? len : 1);
	if (!in)
		abort();
	memcpy(in, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(in, len);
	free(in);
	return 1;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static unsigned long run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "fuzz: cannot stat %s\n", path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	DIR *d = opendir(path);
	if (!d) {
		fprintf(stderr, "fuzz: cannot open directory %s\n", path);
		exit(2);
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof *names);
			if (!names)
				abort();
		}
		size_t l = strlen(path) + strlen(e->d_name) + 2;
		names[n] = malloc(l);
		if (!names[n])
			abort();
		snprintf(names[n++], l, "%s/%s", path, e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, by_name);
	unsigned long runs = 0;
	for (size_t i = 0; i < n; i++) {
		runs += run_path(names[i]);
		free(names[i]);
	}
	free(names);
	return runs;
}

int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	unsigned long runs = 0;
	for (int i = 1; i < argc; i++)
		runs += run_path(argv[i]);
	if (runs == 0) {
		fprintf(stderr, "fuzz: no input files\n");
		return 2;
	}
	printf("%lu inputs replayed\n", runs);
	return 0;
}
