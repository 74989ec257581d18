/* The peer of a connected raw socket, from /proc/PID/net/raw and raw6 (the
 * table of the task's own network namespace): getpeername() cannot tell,
 * as a raw socket has no peer port, and raw sockets are listed by a
 * sock_diag module of their own (raw_diag) that may be absent. */
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
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

			if (d < 0)
				return false;
			v = v << 4 | (uint32_t)d;
		}
		memcpy(out + w * 4, &v, 4);
	}
	return true;
}

int raw_socket_peer(pid_t pid, int family, uint64_t ino, uint8_t *addr, bool *connected)
{
	char path[64], line[512];
	_cleanup_fclose_ FILE *f = NULL;
	size_t words = family == AF_INET ? 1 : 4;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, family == AF_INET ? "raw" : "raw6");
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
