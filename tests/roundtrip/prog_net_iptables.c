/* A program in a network namespace of its own (the runner unshares it)
 * with iptables rules of both kinds: made by iptables-nft (a filter rule
 * with its counter set, a nat DNAT rule, an IPv6 filter rule) and by
 * iptables-legacy (x_tables: IPv4 and IPv6 filter rules with counters).
 * After restore: every *-save -c prints the same rules and counters, and
 * iptables-nft -S still manages and lists its rules (they came back as
 * iptables-nft's tables, not as foreign nftables ones). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prog.h"

#define SAVE_ALL                                                                              \
	"(iptables-nft-save -c; ip6tables-nft-save -c; iptables-legacy-save -c; "          \
	"ip6tables-legacy-save -c) 2>&1 | grep -v '^#'"
#define FILTER_RULE "-A INPUT -s 10.1.2.3/32 -p tcp -m tcp --dport 81 -j DROP"
#define NAT_RULE "-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 127.0.0.1:80"

static char saved[16384];

/* What @cmd prints, in @out. */
static bool run_text(const char *cmd, char *out, size_t size)
{
	FILE *f = popen(cmd, "r");
	size_t n = f ? fread(out, 1, size - 1, f) : 0;

	out[n] = '\0';
	return f && !pclose(f);
}

static bool setup(void)
{
	return PROG_CHECK(!system("ip link set lo up && "
				  "iptables-nft -A INPUT -s 10.1.2.3/32 -p tcp --dport 81 -c 7 420 "
				  "-j DROP && "
				  "iptables-nft -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT "
				  "--to-destination 127.0.0.1:80 && "
				  "ip6tables-nft -A INPUT -s 2001:db8::1/128 -p tcp --dport 82 "
				  "-c 3 180 -j DROP && "
				  "iptables-legacy -A INPUT -s 10.9.9.9/32 -c 5 300 -j DROP && "
				  "ip6tables-legacy -A INPUT -s 2001:db8::9/128 -c 2 160 -j DROP"),
			  "making the rules") &&
	       PROG_CHECK(run_text(SAVE_ALL, saved, sizeof(saved)), "saving: %s", saved) &&
	       PROG_CHECK(strstr(saved, "[7:420] " FILTER_RULE) && strstr(saved, NAT_RULE) &&
				  strstr(saved, "[5:300] -A INPUT -s 10.9.9.9/32 -j DROP"),
			  "the rules are not as made: %s", saved);
}

int main(int argc, char **argv)
{
	char now[16384];

	prog_init(argc, argv);
	if (!setup())
		prog_finish();
	prog_ready();
	prog_wait_sigterm();
	if (PROG_CHECK(run_text(SAVE_ALL, now, sizeof(now)), "saving: %s", now))
		PROG_CHECK(!strcmp(now, saved), "rules: [%s] against [%s]", now, saved);
	if (PROG_CHECK(run_text("iptables-nft -S INPUT 2>&1", now, sizeof(now)), "-S: %s", now))
		PROG_CHECK(strstr(now, FILTER_RULE), "iptables-nft -S does not list it: %s", now);
	if (PROG_CHECK(run_text("iptables-nft -t nat -S 2>&1", now, sizeof(now)), "-S: %s", now))
		PROG_CHECK(strstr(now, NAT_RULE), "iptables-nft -t nat -S does not list it: %s", now);
	prog_finish();
}
