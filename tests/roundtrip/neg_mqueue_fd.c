/* A program holding an fd of a POSIX message queue (unlinked at once, so
 * nothing outlives it) with a message in it: a dump must refuse the fd by
 * name. On SIGTERM it checks the message is still there. */
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 32 };
	char name[64], text[32];
	unsigned int prio = 0;
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	sigset_t term;
	mqd_t q;

	prog_init(argc, argv);
	snprintf(name, sizeof(name), "/cryo-neg-%d", getpid());
	q = mq_open(name, O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK, 0600, &attr);
	if (q < 0 || mq_unlink(name) || mq_send(q, "kept", 4, 2))
		return 1;
	prog_ready();
	/* Ticks, so that the runner sees it still runs after the dump. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM)
		;
	PROG_CHECK(mq_receive(q, text, sizeof(text), &prio) == 4 && !memcmp(text, "kept", 4) &&
		   prio == 2, "the queue lost its message");
	prog_finish();
}
