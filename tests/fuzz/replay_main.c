/*
 * replay_main.c - runs files through a fuzz harness without libFuzzer: the fuzz-regress
 * step of `make check` replays tests/fuzz/corpus/<harness>/ (seeds and every input that
 * once crashed) with the sanitizers of the build. Arguments are files or directories.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "crm/banned.h"

/* Reads `path` and runs it through the harness. Returns 0, or -1 if unreadable. */
static int replay_file(const char *path)
{
	FILE *file = fopen(path, "rb");
	if (!file) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		return -1;
	}
	size_t alloc = 4096, len = 0;
	unsigned char *data = malloc(alloc);
	size_t got;
	while (data && (got = fread(data + len, 1, alloc - len, file)) > 0) {
		len += got;
		if (len == alloc)
			data = realloc(data, alloc *= 2);
	}
	fclose(file);
	if (!data)
		abort();
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every regular file of `directory`, in name order. Returns the count or -1. */
static int replay_directory(const char *directory)
{
	DIR *dir = opendir(directory);
	if (!dir)
		return -1;
	char **names = NULL;
	size_t count = 0;
	struct dirent *entry;
	while ((entry = readdir(dir))) {
		if (entry->d_name[0] == '.')
			continue;
		names = realloc(names, (count + 1) * sizeof(*names));
		size_t size = strlen(directory) + strlen(entry->d_name) + 2;
		names[count] = malloc(size);
		snprintf(names[count], size, "%s/%s", directory, entry->d_name);
		count++;
	}
	closedir(dir);
	qsort(names, count, sizeof(*names), compare_names);
	int replayed = 0;
	for (size_t i = 0; i < count; i++) {
		struct stat info;
		if (stat(names[i], &info) == 0 && S_ISREG(info.st_mode) && replay_file(names[i]) == 0)
			replayed++;
		free(names[i]);
	}
	free(names);
	return replayed;
}

int main(int argc, char **argv)
{
	int replayed = 0;
	for (int i = 1; i < argc; i++) {
		struct stat info;
		if (stat(argv[i], &info) != 0) {
			fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
			return 1;
		}
		int done = S_ISDIR(info.st_mode) ? replay_directory(argv[i])
						 : (replay_file(argv[i]) == 0 ? 1 : -1);
		if (done < 0)
			return 1;
		replayed += done;
	}
	printf("%s: %d inputs replayed, no failure\n", argv[0], replayed);
	return 0;
}
