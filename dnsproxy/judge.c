// SPDX-License-Identifier: MIT
/*
 * The DNS proxy's decisions (judge.h).  The names come from lib/dnsmsg.c,
 * which has checked them; the table was validated by np_table_open().
 */
#include <string.h>

#include "bpf/egress.h"
#include "judge.h"

void
dns_judge_query(const struct np_table *np, int mode, int allow_dns_request, const char *qname,
    struct dns_verdict *ret)
{
	struct dns_verdict v = {0};
	enum np_verdict nv = np_lookup(np, qname, &v.m);

	if (nv == NP_BLOCK) {
		v.blocked = 1;
		v.because = "MatchedBlockListDomain";
	} else if (nv == NP_ALLOW) {
		v.because =
		    v.m.kind == NP_K_URL ? "MatchedAllowListURLHost" : "MatchedAllowListDomain";
	} else if (mode == CGFW_MODE_ALLOW_LIST) {
		v.blocked = 1;
		v.because = "NotInAllowList";
	} else if (mode == CGFW_MODE_BLOCK_LIST) {
		v.because = "NotInBlockList";
	} else {
		v.because = "LogOnly";
	}
	if (v.blocked && allow_dns_request)
		v.because = "AllowDNSRequest";
	v.refuse = v.blocked && !allow_dns_request;
	*ret = v;
}

int
dns_judge_answer(const struct np_table *np, int allow_dns_request, const struct dns_answer_info *ai,
    struct dns_verdict *v)
{
	/* A blocked question admits nothing whatever its chain; chain[0] is the question. */
	if (v->blocked)
		return 0;
	for (size_t i = 1; i < ai->n_chain; i++) {
		struct np_match m;

		/* An explicit block of any alias: CNAME cloaking must not get around a block list. */
		if (np_lookup(np, ai->chain[i], &m) != NP_BLOCK)
			continue;
		v->blocked = 1;
		v->refuse = !allow_dns_request;
		v->because = allow_dns_request ? "AllowDNSRequest" : "CNAMEBlocked";
		v->m = m;
		v->link = i;
		return 1;
	}
	return 0;
}
