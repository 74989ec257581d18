/* A program in an IPC namespace of its own (the runner unshares it) with
 * what a dump cannot save: a POSIX message queue holding a message, with a
 * notification registered (mq_notify), which the dump's taking and putting
 * back of the messages would fire. On SIGTERM it checks that the queue
 * still has its message and its notification. */
#include <errno.h>
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
	struct sigevent ev = { .sigev_notify = SIGEV_NONE };
	mqd_t q;

	prog_init(argc, argv);
	/* It would fire when a message arrives on the queue emptied. */
	q = mq_open(QUEUE, O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK, 0600, &attr);
	if (q < 0 || mq_send(q, "kept", 4, 5) || mq_notify(q, &ev))
		return 1;
	prog_ready();
	/* Ticks, so that the runner sees it still runs after the dump. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM)
		;
	/* A fired notification is no longer registered. */
	PROG_CHECK(mq_notify(q, &ev) < 0 && errno == EBUSY, "the notification is gone");
	PROG_CHECK(mq_receive(q, text, sizeof(text), &prio) == 4 && !memcmp(text, "kept", 4) &&
		   prio == 5, "the queue lost its message");
	prog_finish();
}
