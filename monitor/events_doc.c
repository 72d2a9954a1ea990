// SPDX-License-Identifier: MIT
/*
 * docs/events.md's tables from the tables the monitor writes events from
 * (monitor/events.c, bpf/cgfw_defs.h): copies stdin to stdout, replacing
 * what stands between a line "<!-- make docs: NAME -->" and the next
 * "<!-- end of make docs -->" with the table NAME (mon_events_doc()).
 * "make docs" rewrites the file with it; make check fails when the file
 * differs from what it prints.  Exits 1 on an unknown NAME or an unclosed
 * block.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/events.h"

#define BEGIN "<!-- make docs: "
#define END   "<!-- end of make docs -->"

int
main(void)
{
	char *line = NULL, *open = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		lineno++;
		if (open && strncmp(line, END, strlen(END)) != 0)
			continue;
		fputs(line, stdout);
		if (open) {
			free(open);
			open = NULL;
		} else if (!strncmp(line, BEGIN, strlen(BEGIN))) {
			char *name = line + strlen(BEGIN), *close = strstr(name, " -->");

			if (!close) {
				fprintf(stderr, "events-doc: line %d: no \" -->\"\n", lineno);
				return 1;
			}
			*close = '\0';
			open = strdup(name);
			if (!open || mon_events_doc(stdout, open) < 0) {
				fprintf(
				    stderr, "events-doc: line %d: no table \"%s\"\n", lineno, name);
				return 1;
			}
		}
	}
	free(line);
	if (open) {
		fprintf(stderr, "events-doc: table \"%s\" has no \"%s\"\n", open, END);
		return 1;
	}
	return ferror(stdout) || fflush(stdout) ? 1 : 0;
}
