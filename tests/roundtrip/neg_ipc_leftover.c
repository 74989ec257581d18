/* A program in an IPC namespace of its own (the runner unshares it) that
 * leaves in it what a dump cannot save yet: a POSIX message queue with a
 * message and no fd. On SIGTERM it checks that the queue is still there,
 * untouched. */
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define QUEUE "/cryo-leftover"

int main(int argc, char **argv)
{
	struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 32 };
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	unsigned int prio = 0;
	char text[32];
	sigset_t term;
	mqd_t q;

	prog_init(argc, argv);
	q = mq_open(QUEUE, O_CREAT | O_EXCL | O_WRONLY, 0600, &attr);
	if (q < 0 || mq_send(q, "kept", 4, 5))
		return 1;
	mq_close(q);
	prog_ready();
	/* Ticks, so that the runner sees it still runs after the dump. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM)
		;
	q = mq_open(QUEUE, O_RDONLY | O_NONBLOCK);
	PROG_CHECK(q >= 0 && mq_receive(q, text, sizeof(text), &prio) == 4 &&
		   !memcmp(text, "kept", 4) && prio == 5, "the queue lost its message");
	prog_finish();
}
