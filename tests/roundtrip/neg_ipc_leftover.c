/* A program in an IPC namespace of its own (the runner unshares it) that
 * leaves in it what a dump cannot save yet, as NEG_IPC_LEFTOVER says:
 * "segment", a SysV segment nobody attaches; "mqueue", a POSIX message
 * queue with a message and no fd. On SIGTERM it checks that the leftover
 * is still there, untouched. */
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define SHM_KEY 0x5e3a0201
#define QUEUE "/cryo-leftover"

int main(int argc, char **argv)
{
	const char *what = getenv("NEG_IPC_LEFTOVER");
	struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 32 };
	char text[32];
	unsigned int prio = 0;
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	sigset_t term;
	mqd_t q;

	prog_init(argc, argv);
	if (!what)
		return 1;
	if (!strcmp(what, "segment")) {
		if (shmget(SHM_KEY, 4096, IPC_CREAT | IPC_EXCL | 0600) < 0)
			return 1;
	} else {
		q = mq_open(QUEUE, O_CREAT | O_EXCL | O_WRONLY, 0600, &attr);
		if (q < 0 || mq_send(q, "kept", 4, 5))
			return 1;
		mq_close(q);
	}
	prog_ready();
	/* Ticks, so that the runner sees it still runs after the dump. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM)
		;
	if (!strcmp(what, "segment")) {
		PROG_CHECK(shmget(SHM_KEY, 0, 0) >= 0, "the segment is gone");
	} else {
		q = mq_open(QUEUE, O_RDONLY | O_NONBLOCK);
		PROG_CHECK(q >= 0 && mq_receive(q, text, sizeof(text), &prio) == 4 &&
			   !memcmp(text, "kept", 4) && prio == 5, "the queue lost its message");
	}
	prog_finish();
}
