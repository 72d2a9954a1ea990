// SPDX-License-Identifier: MIT
/*
 * lib/dnsmsg.c on arbitrary bytes, read as a query and as an answer.  Beyond
 * "no crash", it checks what must hold: our own responses parse back,
 * stripping is idempotent and leaves what dns_parse_answer() sees unchanged.
 * tests/fuzz/replay.c replays files without libFuzzer (make check runs the corpus).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* www.example.com A IN, with an OPT: the answers in the corpus answer it. */
static const uint8_t fixed_query[] = {
    0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,                              /* header */
    3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, /* qname */
    0, 1, 0, 1,                                                                  /* A IN */
    0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0,                                      /* OPT */
};

static void
must(int cond)
{
	if (!cond)
		abort();
}

/* msg as an answer to q: parse, strip, and compare. */
static void
answer_paths(const uint8_t *msg, size_t len, const struct dns_query *q)
{
	struct dns_answer_info *ai = malloc(sizeof(*ai)), *after = malloc(sizeof(*after));
	size_t cap = 2 * len + 512, out_len = 0, again_len = 0;
	uint8_t *out = malloc(cap), *again = malloc(cap);
	int parsed, r;

	must(ai && after && out && again);
	parsed = dns_parse_answer(msg, len, q, ai) == 0;
	r = dns_strip_aaaa(msg, len, out, cap, &out_len);
	must(r == 0 || r == -EBADMSG || r == -ENOSPC);
	if (r == 0) {
		must(out_len <= cap);
		must(dns_strip_aaaa(out, out_len, again, cap, &again_len) == 0);
		must(again_len == out_len && memcmp(again, out, out_len) == 0);
		if (parsed) {
			must(dns_parse_answer(out, out_len, q, after) == 0);
			must(memcmp(ai, after, sizeof(*ai)) == 0);
		}
	}
	if (parsed) {
		must(ai->n_chain >= 1 && ai->n_chain <= DNS_MAX_CHAIN && ai->n_a <= DNS_MAX_A);
		must(strcmp(ai->chain[0], q->qname) == 0);
		/* The DNS proxy judges each chain name as text: canonical, and no name twice. */
		for (size_t i = 1; i < ai->n_chain; i++) {
			for (const char *c = ai->chain[i]; *c; c++)
				must(!(*c >= 'A' && *c <= 'Z') && (unsigned char)*c >= 0x20 &&
				     *c != 0x7f);
			for (size_t k = 0; k < i; k++)
				must(strcmp(ai->chain[k], ai->chain[i]) != 0);
		}
	}
	free(again);
	free(out);
	free(after);
	free(ai);
}

/* Every response we can make to q must parse back as its answer. */
static void
response_paths(const uint8_t *query, size_t len, const struct dns_query *q)
{
	struct dns_answer_info *ai = malloc(sizeof(*ai));
	uint8_t *flipped = malloc(len), out[512];
	ssize_t n;

	must(ai && flipped);
	for (int rcode = -1; rcode <= 5; rcode++) {
		if (rcode < 0)
			n = dns_make_truncated(q, query, len, out, sizeof(out));
		else
			n = dns_make_response(q, query, len, rcode, out, sizeof(out));
		must(n > 0);
		must(dns_parse_answer(out, (size_t)n, q, ai) == 0);
		must(ai->rcode == (rcode < 0 ? 0 : rcode) && ai->n_a == 0 && ai->n_chain == 1);
		answer_paths(out, (size_t)n, q);
	}
	/* The query itself with QR set is a valid, empty answer. */
	memcpy(flipped, query, len);
	flipped[2] |= 0x80;
	must(dns_parse_answer(flipped, len, q, ai) == 0);
	free(flipped);
	free(ai);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query fixed, q;
	uint8_t *msg = malloc(size ? size : 1);
	char buf[16];

	/* An exact-size copy: any read past the end is a sanitizer report. */
	if (!msg)
		return 0;
	memcpy(msg, data, size);
	must(dns_parse_query(fixed_query, sizeof(fixed_query), &fixed) == 0);
	if (size >= 2)
		fixed.id = (uint16_t)(msg[0] << 8 | msg[1]); /* let answers reach the records */
	answer_paths(msg, size, &fixed);
	if (dns_parse_query(msg, size, &q) == 0) {
		must(strlen(q.qname) < sizeof(q.qname) && q.question_end <= size);
		(void)dns_qtype_name(q.qtype, buf, sizeof(buf));
		answer_paths(msg, size, &q);
		response_paths(msg, size, &q);
	}
	(void)dns_rcode_name(size ? msg[0] : 0);
	free(msg);
	return 0;
}
