/* SPDX-License-Identifier: MIT */
/*
 * What cgfw-dnsproxy does with a query: the name policy (DESIGN.md §3)
 * applied to the question.  No I/O, so tests/unit/test_judge.c covers every
 * decision.
 */
#ifndef CGFW_DNS_JUDGE_H
#define CGFW_DNS_JUDGE_H

#include "lib/namepolicy.h"

struct dns_verdict {
	int blocked;         /* the policy blocks the question */
	int refuse;          /* the client gets the block rcode (blocked, no --allow-dns-request) */
	const char *because; /* for the event: MatchedBlockListDomain, ... */
	struct np_match m;   /* the rule that decided; verdict NP_NONE if the mode did */
};

/*
 * The question.  mode is a CGFW_MODE_*; with allow_dns_request a blocked
 * name is answered (refuse 0) but stays blocked: nothing may be admitted.
 */
void dns_judge_query(const struct np_table *np, int mode, int allow_dns_request, const char *qname,
    struct dns_verdict *ret);

#endif
