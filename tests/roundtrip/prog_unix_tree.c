/* Round-trip program: a tree of 5 processes whose unix socketpairs have
 * their two ends in different processes. The root makes 24 pairs (stream,
 * seqpacket and datagram in turn) and forks 4 children; pair i's end a
 * goes to child i % 4, its end b to child (i + 1) % 4, and each end gets
 * bytes queued from the other before the fork; each end of a stream pair
 * also gets BULK bytes, 6 MiB in all, more than a dump keeps in files.img's
 * records: they go to file-queues.img and are read back one socket at a
 * time at restore (here by cryo, which makes the pairs before the tree).
 * On SIGTERM each child reads
 * what its ends hold and says through a pipe whether all was there, then
 * waits until every child has checked (an exit would end its peers'
 * streams); the root collects the verdicts. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define CHILDREN 4
#define PAIRS 24
#define BULK (384 << 10)

static const int types[3] = { SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM };
static int pairs[PAIRS][2];

static void message(char *buf, size_t size, int pair, int end)
{
	snprintf(buf, size, "pair %d to end %c", pair, 'a' + end);
}

static uint8_t bulk_byte(int pair, int end, size_t i)
{
	return (uint8_t)(pair * 7 + end * 3 + i * 13 + (i >> 9));
}

/* Queues the bulk bytes of @pair from its end 1 - @end to @end. */
static bool send_bulk(int pair, int end)
{
	static uint8_t buf[BULK];
	int room = 4 << 20;

	for (size_t i = 0; i < BULK; i++)
		buf[i] = bulk_byte(pair, end, i);
	return !setsockopt(pairs[pair][1 - end], SOL_SOCKET, SO_SNDBUFFORCE, &room,
			   sizeof(room)) &&
	       send(pairs[pair][1 - end], buf, BULK, MSG_DONTWAIT) == BULK;
}

/* Whether end @end of stream pair @pair reads its bulk bytes. */
static bool bulk_arrived(int pair, int end)
{
	static uint8_t buf[BULK];

	if (recv(pairs[pair][end], buf, BULK, MSG_DONTWAIT | MSG_WAITALL) != BULK)
		return false;
	for (size_t i = 0; i < BULK; i++)
		if (buf[i] != bulk_byte(pair, end, i))
			return false;
	return true;
}

/* The checks of child @c: each end it holds reads its message (and a
 * stream end its bulk bytes), then EOF of its queue. */
static int child_checks(int c)
{
	char want[64], got[64];
	int bad = 0;

	for (int i = 0; i < PAIRS; i++) {
		for (int end = 0; end < 2; end++) {
			ssize_t n;

			if ((i + end) % CHILDREN != c)
				continue;
			message(want, sizeof(want), i, end);
			n = recv(pairs[i][end], got, strlen(want), MSG_DONTWAIT);
			if (n != (ssize_t)strlen(want) || memcmp(got, want, n)) {
				fprintf(stderr, "child %d: pair %d end %d read %zd bytes\n", c, i,
					end, n);
				bad++;
			}
			if (types[i % 3] == SOCK_STREAM && !bulk_arrived(i, end)) {
				fprintf(stderr, "child %d: pair %d end %d lost its bulk bytes\n", c,
					i, end);
				bad++;
			}
			/* The pair still talks: its other end reads this later. */
			n = recv(pairs[i][end], got, sizeof(got), MSG_DONTWAIT);
			if (n >= 0 || errno != EAGAIN)
				bad++;
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	int ready[2], hold[2], verdict[CHILDREN][2];
	pid_t kids[CHILDREN];
	char buf[64];

	prog_init(argc, argv);
	for (int i = 0; i < PAIRS; i++) {
		if (socketpair(AF_UNIX, types[i % 3], 0, pairs[i]))
			return 1;
		for (int end = 0; end < 2; end++) {
			message(buf, sizeof(buf), i, end);
			if (send(pairs[i][1 - end], buf, strlen(buf), 0) != (ssize_t)strlen(buf))
				return 1;
			if (types[i % 3] == SOCK_STREAM && !send_bulk(i, end))
				return 1;
		}
	}
	if (pipe(ready) || pipe(hold))
		return 1;
	for (int c = 0; c < CHILDREN; c++) {
		if (pipe(verdict[c]))
			return 1;
		kids[c] = fork();
		if (kids[c] < 0)
			return 1;
		if (kids[c] == 0) {
			char v;

			for (int i = 0; i < PAIRS; i++)
				for (int end = 0; end < 2; end++)
					if ((i + end) % CHILDREN != c)
						close(pairs[i][end]);
			close(verdict[c][0]);
			close(hold[1]);
			prog_child_ready(ready);
			prog_wait_sigterm();
			v = child_checks(c) ? 'F' : 'P';
			if (write(verdict[c][1], &v, 1) != 1)
				_exit(1);
			/* EOF once the root has every verdict. */
			_exit(read(hold[0], &v, 1) == 0 ? 0 : 1);
		}
		close(verdict[c][1]);
	}
	for (int i = 0; i < PAIRS; i++) {
		close(pairs[i][0]);
		close(pairs[i][1]);
	}
	close(ready[1]);
	while (read(ready[0], buf, 1) > 0)
		;
	close(ready[0]);
	prog_ready();
	prog_wait_sigterm();
	close(hold[0]);
	for (int c = 0; c < CHILDREN; c++)
		kill(kids[c], SIGTERM);
	for (int c = 0; c < CHILDREN; c++) {
		char v = 0;

		PROG_CHECK(read(verdict[c][0], &v, 1) == 1 && v == 'P',
			   "child %d found its sockets not as saved", c);
	}
	close(hold[1]);
	for (int c = 0; c < CHILDREN; c++)
		waitpid(kids[c], NULL, 0);
	prog_finish();
}
