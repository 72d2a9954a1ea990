// SPDX-License-Identifier: MIT
/*
 * The config file parser (loader/options.c, opts_config_parse()) on arbitrary
 * text.  The first byte picks which keys the command line is said to have
 * given (those values are still checked, then dropped).  Beyond "no crash":
 * an error names the file and holds no raw control byte (the input is quoted
 * escaped), and whatever was admitted is freed whole.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
must(int cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct loader_opts o = {.cmd = CMD_RUN, .config = "fuzz.conf"};
	char err[CGFW_ERR_LEN + 4096] = "";
	uint8_t flags;
	char *buf;
	int r;

	if (size < 1 || size > (1 << 16))
		return 0;
	flags = data[0];
	o.have_cli_allow = flags & 1;
	o.have_cli_block = !!(flags & 2);
	o.have_cli_allow_file = !!(flags & 4);
	o.have_cli_block_file = !!(flags & 8);
	o.have_cli_upstream = !!(flags & 16);
	o.have_cli_min_ttl = !!(flags & 32);
	o.have_cli_block_response = !!(flags & 64);
	data++;
	size--;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	r = opts_config_parse(&o, buf, size, err, sizeof(err));
	if (r < 0) {
		must(r == -EINVAL);
		must(strstr(err, "fuzz.conf") != NULL);
		for (const char *p = err; *p; p++)
			must((unsigned char)*p >= 0x20 && *p != 0x7f);
	} else {
		must(o.n_files <= LOADER_MAX_FILES && o.n_upstreams <= LOADER_MAX_UPSTREAMS);
		for (size_t i = 0; i < o.rules.n; i++)
			must(o.rules.v[i].text && o.rules.v[i].origin);
	}
	opts_free(&o);
	free(buf);
	return 0;
}
