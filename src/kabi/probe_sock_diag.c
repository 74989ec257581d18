/* Probes of sock_diag, through which dump lists sockets and their state:
 * one real dump request per family through the client of src/net, read to
 * its end. A family whose diag module is absent answers with an error. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "kabi/probe.h"
#include "net/sock_diag.h"

static int count_socket(const struct nlmsghdr *h, void *arg)
{
	(void)h;
	(*(unsigned int *)arg)++;
	return 0;
}

static int probe_family(struct feature_result *res, int family, const char *what)
{
	unsigned int sockets = 0;
	int ret;

	if (family == AF_INET || family == AF_INET6) {
		ret = sock_diag_dump(family, IPPROTO_TCP, count_socket, &sockets);
		if (!ret)
			ret = sock_diag_dump(family, IPPROTO_UDP, count_socket, &sockets);
	} else {
		ret = sock_diag_dump(family, 0, count_socket, &sockets);
	}
	if (ret)
		return feature_missing(res, ret, "the dump request failed (%s); dump cannot "
				       "checkpoint %s", strerror(-ret), what);
	pr_debug("sock_diag family %d: %u sockets", family, sockets);
	return feature_ok(res, "answered a dump request (%u socket%s); dump can checkpoint %s",
			  sockets, sockets == 1 ? "" : "s", what);
}

int probe_sock_diag_unix(struct feature_result *res)
{
	return probe_family(res, AF_UNIX, "unix sockets");
}

int probe_sock_diag_inet(struct feature_result *res)
{
	return probe_family(res, AF_INET, "TCP and UDP sockets over IPv4");
}

int probe_sock_diag_inet6(struct feature_result *res)
{
	return probe_family(res, AF_INET6, "TCP and UDP sockets over IPv6");
}

int probe_sock_diag_packet(struct feature_result *res)
{
	return probe_family(res, AF_PACKET, "packet sockets");
}

int probe_sock_diag_netlink(struct feature_result *res)
{
	return probe_family(res, AF_NETLINK, "netlink sockets");
}
