/* The peer of a connected raw or ping socket, from /proc/PID/net/raw, raw6,
 * icmp or icmp6 (the tables of the task's own network namespace):
 * getpeername() cannot tell, as these sockets have no peer port, and
 * sock_diag lists raw sockets through a module that may be absent and
 * ping sockets not at all. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include "common/cleanup.h"
#include "net/internal.h"

/* @hex: 8 hex digits per 32-bit word, each word as the kernel held it. */
static bool parse_words(const char *hex, size_t words, uint8_t *out)
{
	for (size_t w = 0; w < words; w++) {
		uint32_t v = 0;

		for (int k = 0; k < 8; k++) {
			char c = hex[w * 8 + k];
			int d = c >= '0' && c <= '9' ? c - '0' :
				c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

			if (d < 0)
				return false;
			v = v << 4 | (uint32_t)d;
		}
		memcpy(out + w * 4, &v, 4);
	}
	return true;
}

int raw_socket_peer(pid_t pid, int family, bool ping, uint64_t ino, uint8_t *addr,
		    bool *connected)
{
	static const char *const tables[2][2] = { { "raw", "raw6" }, { "icmp", "icmp6" } };
	char path[64], line[512];
	_cleanup_fclose_ FILE *f = NULL;
	size_t words = family == AF_INET ? 1 : 4;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, tables[ping][family != AF_INET]);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char local[40], remote[40];
		unsigned int state;
		uint64_t inode;

		/* sl local:port remote:port st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, " %*u: %39[0-9A-F]:%*x %39[0-9A-F]:%*x %x %*x:%*x %*x:%*x %*x %*u "
			   "%*d %" SCNu64, local, remote, &state, &inode) != 4 || inode != ino)
			continue;
		if (strlen(remote) != words * 8 || !parse_words(remote, words, addr))
			return -EPROTO;
		/* TCP_ESTABLISHED: connect() was called. */
		*connected = state == 1;
		return 0;
	}
	return -ENOENT;
}
