// SPDX-License-Identifier: MIT
/*
 * The replay driver of every fuzz target: each file argument is one input to
 * LLVMFuzzerTestOneInput().  Built with the normal toolchain, so make check
 * runs the seed corpora with gcc too.  A file that cannot be read fails, and
 * so does one that the target's fuzz_replay_check(), if it has one, says did
 * not do what its name says (tests/fuzz/ipc_harness.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define REPLAY_MAX (1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_replay_check(const char *path) __attribute__((weak));

int
main(int argc, char **argv)
{
	uint8_t *buf = malloc(REPLAY_MAX);
	int status = 0;

	if (!buf)
		return 1;
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (!f) {
			perror(argv[i]);
			free(buf);
			return 1;
		}
		n = fread(buf, 1, REPLAY_MAX, f);
		(void)fclose(f);
		(void)LLVMFuzzerTestOneInput(buf, n);
		if (fuzz_replay_check && fuzz_replay_check(argv[i]) != 0)
			status = 1;
	}
	free(buf);
	return status;
}
