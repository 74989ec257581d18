/* A program in a network namespace of its own (the runner unshares it)
 * that sets up, with ip(8), addresses on the loopback (IPv4 with a label,
 * one with lifetimes, IPv6), routes (through a gateway with a metric and
 * source, in another table, blackhole, unreachable, IPv6) and rules, binds
 * a UDP socket to one of those addresses with a datagram queued. On
 * SIGTERM it checks that ip(8) shows the same addresses, routes and rules
 * as before the dump, that the address with a lifetime still has one, and
 * that the socket still talks. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

#define PORT 47312

static const char setup[] =
	"ip link set lo up"
	" && ip addr add 10.61.0.1/24 dev lo label lo:cryo"
	" && ip addr add 10.62.0.1/32 dev lo valid_lft 3000 preferred_lft 2000"
	" && ip -6 addr add fd00:61::1/64 dev lo"
	" && ip route add 10.70.0.0/16 via 10.61.0.2 dev lo metric 50 src 10.61.0.1"
	" && ip route add 10.71.0.0/16 dev lo table 100"
	" && ip route add blackhole 10.72.0.0/16"
	" && ip route add unreachable 10.73.0.0/16 metric 7"
	" && ip -6 route add fd00:70::/48 dev lo metric 33 src fd00:61::1"
	" && ip -6 route add blackhole fd00:72::/48"
	" && ip rule add priority 100 from 10.61.0.0/24 table 100"
	" && ip -6 rule add priority 200 to fd00:70::/48 table 100";

/* What ip(8) shows, but the lifetimes, which run down. */
static const char *const shows[] = {
	"ip addr show dev lo | grep -v valid_lft",
	"ip route show table all",
	"ip -6 route show table all",
	"ip rule show",
	"ip -6 rule show",
};

#define SHOWN_MAX 8192

static char before[sizeof(shows) / sizeof(shows[0])][SHOWN_MAX];

static void run(const char *cmd, char *out)
{
	FILE *f = popen(cmd, "r");
	size_t n = f ? fread(out, 1, SHOWN_MAX - 1, f) : 0;

	out[n] = '\0';
	PROG_CHECK(f && pclose(f) == 0 && n > 0, "running '%s'", cmd);
}

/* Seconds of valid lifetime left on 10.62.0.1, -1 if forever or absent. */
static long lifetime(void)
{
	char out[SHOWN_MAX], *at;

	run("ip -o -4 addr show dev lo to 10.62.0.1/32", out);
	at = strstr(out, "valid_lft ");
	if (!at || !strncmp(at + 10, "forever", 7))
		return -1;
	return strtol(at + 10, NULL, 10);
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	char after[SHOWN_MAX], buf[64];
	int rx, tx;
	long left;
	bool ok;

	prog_init(argc, argv);
	inet_pton(AF_INET, "10.61.0.1", &to.sin_addr);
	ok = PROG_CHECK(!system(setup), "setting up addresses, routes and rules");
	for (size_t i = 0; ok && i < sizeof(shows) / sizeof(shows[0]); i++)
		run(shows[i], before[i]);
	rx = socket(AF_INET, SOCK_DGRAM, 0);
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	ok = ok && PROG_CHECK(rx >= 0 && tx >= 0 && !bind(rx, (struct sockaddr *)&to, sizeof(to)) &&
			      !connect(tx, (struct sockaddr *)&to, sizeof(to)) &&
			      send(tx, "queued", 6, 0) == 6, "a UDP pair on 10.61.0.1");
	if (!ok)
		prog_finish();
	prog_ready();
	prog_wait_sigterm();
	for (size_t i = 0; i < sizeof(shows) / sizeof(shows[0]); i++) {
		run(shows[i], after);
		PROG_CHECK(!strcmp(before[i], after), "'%s' shows\n%s\nafter, and before\n%s",
			   shows[i], after, before[i]);
	}
	left = lifetime();
	PROG_CHECK(left > 0 && left <= 3000, "10.62.0.1's valid lifetime is %ld s", left);
	PROG_CHECK(recv(rx, buf, sizeof(buf), MSG_DONTWAIT) == 6 && !memcmp(buf, "queued", 6),
		   "the datagram queued on 10.61.0.1");
	PROG_CHECK(send(tx, "again", 5, 0) == 5 && recv(rx, buf, sizeof(buf), 0) == 5,
		   "a datagram sent to 10.61.0.1 after the restore");
	prog_finish();
}
