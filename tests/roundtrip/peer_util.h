/* What the peers of the network round trips (peer_veth, peer_macvlan)
 * share: their verdict, written where the runner reads it. */
#ifndef CRYO_TEST_PEER_UTIL_H
#define CRYO_TEST_PEER_UTIL_H

#include <stdio.h>

/* Writes "PASS" or "FAIL: @failure" (when it is not empty) to @out; the
 * peer's exit status. */
static inline int peer_write_verdict(const char *out, const char *failure)
{
	FILE *f = fopen(out, "w");

	if (!f)
		return 1;
	fprintf(f, failure[0] ? "FAIL: %s\n" : "PASS\n", failure);
	fclose(f);
	return 0;
}

#endif
