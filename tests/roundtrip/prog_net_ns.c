/* A program in a network namespace of its own (the runner unshares it):
 * it brings the loopback up with an MTU of its own, sets sysctls of the
 * namespace, binds a UDP socket to 127.0.0.1 and one to ::1, and leaves a
 * datagram queued on each from a connected sender. On SIGTERM it checks
 * that it is still in a namespace with no device but the loopback, that
 * the loopback is up with its MTU, the sysctls, the queued datagrams, and
 * that the sockets still talk. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

#define PORT 47311
#define LO_MTU 9000

static const struct {
	const char *name, *value;
} sysctls[] = {
	{ "net/ipv4/ip_local_port_range", "20000\t29999" },
	{ "net/ipv4/ping_group_range", "0\t100" },
	{ "net/ipv4/ip_forward", "1" },
	{ "net/ipv4/tcp_keepalive_time", "1234" },
	{ "net/core/somaxconn", "321" },
	{ "net/unix/max_dgram_qlen", "77" },
};

static int rx4, tx4, rx6, tx6;

static bool write_sysctl(const char *name, const char *value)
{
	char path[96];
	int fd;
	bool ok;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	fd = open(path, O_WRONLY);
	ok = fd >= 0 && write(fd, value, strlen(value)) == (ssize_t)strlen(value);
	if (fd >= 0)
		close(fd);
	return PROG_CHECK(ok, "writing %s", path);
}

static void read_sysctl(const char *name, char *buf, size_t size)
{
	char path[96];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	fd = open(path, O_RDONLY);
	if (fd >= 0)
		n = read(fd, buf, size - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
}

static bool loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	bool ok = s >= 0 && !ioctl(s, SIOCGIFFLAGS, &ifr);

	ifr.ifr_flags |= IFF_UP;
	ok = ok && !ioctl(s, SIOCSIFFLAGS, &ifr);
	ifr.ifr_mtu = LO_MTU;
	ok = ok && !ioctl(s, SIOCSIFMTU, &ifr);
	if (s >= 0)
		close(s);
	return PROG_CHECK(ok, "bringing the loopback up");
}

/* A receiver bound to @addr and a sender connected to it, one datagram
 * queued. */
static bool pair(int family, const void *addr, int *rx, int *tx, const char *text)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;

	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(PORT);
		memcpy(&a->sin_addr, addr, 4);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(PORT);
		memcpy(&a->sin6_addr, addr, 16);
		len = sizeof(*a);
	}
	*rx = socket(family, SOCK_DGRAM, 0);
	*tx = socket(family, SOCK_DGRAM, 0);
	return PROG_CHECK(*rx >= 0 && *tx >= 0 && !bind(*rx, (struct sockaddr *)&ss, len) &&
			  !connect(*tx, (struct sockaddr *)&ss, len) &&
			  send(*tx, text, strlen(text), 0) == (ssize_t)strlen(text),
			  "a UDP pair of family %d", family);
}

static void check_pair(int rx, int tx, const char *text)
{
	char buf[64];
	ssize_t n = recv(rx, buf, sizeof(buf), MSG_DONTWAIT);

	PROG_CHECK(n == (ssize_t)strlen(text) && !memcmp(buf, text, (size_t)n),
		   "the queued datagram '%s' (got %zd bytes)", text, n);
	PROG_CHECK(send(tx, "again", 5, 0) == 5 && recv(rx, buf, sizeof(buf), 0) == 5,
		   "a datagram sent after the restore");
}

static void check_namespace(void)
{
	struct if_nameindex *names = if_nameindex(), *n;
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	for (n = names; n && n->if_index; n++)
		PROG_CHECK(!strcmp(n->if_name, "lo"), "device %s: not in a namespace of its own",
			   n->if_name);
	if (names)
		if_freenameindex(names);
	PROG_CHECK(s >= 0 && !ioctl(s, SIOCGIFFLAGS, &ifr) && (ifr.ifr_flags & IFF_UP),
		   "the loopback is down");
	PROG_CHECK(s >= 0 && !ioctl(s, SIOCGIFMTU, &ifr) && ifr.ifr_mtu == LO_MTU,
		   "the loopback's MTU is %d", ifr.ifr_mtu);
	if (s >= 0)
		close(s);
}

int main(int argc, char **argv)
{
	struct in6_addr any6 = IN6ADDR_LOOPBACK_INIT;
	struct in_addr lo4 = { htonl(INADDR_LOOPBACK) };
	char got[128];
	bool ok;

	prog_init(argc, argv);
	ok = loopback_up();
	for (size_t i = 0; ok && i < sizeof(sysctls) / sizeof(sysctls[0]); i++)
		ok = write_sysctl(sysctls[i].name, sysctls[i].value);
	ok = ok && pair(AF_INET, &lo4, &rx4, &tx4, "over IPv4") &&
	     pair(AF_INET6, &any6, &rx6, &tx6, "over IPv6");
	if (!ok)
		prog_finish();
	prog_ready();
	prog_wait_sigterm();
	check_namespace();
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		read_sysctl(sysctls[i].name, got, sizeof(got));
		PROG_CHECK(!strcmp(got, sysctls[i].value), "%s is '%s', not '%s'", sysctls[i].name,
			   got, sysctls[i].value);
	}
	check_pair(rx4, tx4, "over IPv4");
	check_pair(rx6, tx6, "over IPv6");
	prog_finish();
}
