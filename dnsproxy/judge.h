/* SPDX-License-Identifier: MIT */
/*
 * What cgfw-dnsproxy does with a query and with the upstream's answer to it:
 * the name policy (DESIGN.md §3) applied to the question, then to every
 * CNAME target on the answer's chain.  No I/O, so tests/unit/test_judge.c
 * covers every decision.
 */
#ifndef CGFW_DNS_JUDGE_H
#define CGFW_DNS_JUDGE_H

#include <stddef.h>

#include "lib/dnsmsg.h"
#include "lib/namepolicy.h"

struct dns_verdict {
	int blocked;         /* the question or a name on its chain is blocked: admit nothing */
	int refuse;          /* the client gets the block rcode (blocked, no --allow-dns-request) */
	const char *because; /* for the event: MatchedBlockListDomain, CNAMEBlocked, ... */
	struct np_match m;   /* the rule that decided; verdict NP_NONE if the mode did */
	size_t link;         /* chain index of the name m was matched for: 0 the question */
};

/*
 * The question.  mode is a CGFW_MODE_*; with allow_dns_request a blocked
 * name is answered (refuse 0) but stays blocked: nothing may be admitted.
 * The flag changes nothing else: a name it does not block is admitted.
 */
void dns_judge_query(const struct np_table *np, int mode, int allow_dns_request, const char *qname,
    struct dns_verdict *ret);

/*
 * The answer to a question v did not block: the first CNAME target on ai's
 * chain that a block rule matches blocks the whole answer (CNAMEBlocked, or
 * AllowDNSRequest with allow_dns_request).  A target no rule allows does not
 * block: the question's name decides that (docs/policy.md).  Returns 1 if
 * it changed v, else 0.
 */
int dns_judge_answer(const struct np_table *np, int allow_dns_request,
    const struct dns_answer_info *ai, struct dns_verdict *v);

#endif
