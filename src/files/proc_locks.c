/* The dump's one read of /proc/locks, on a thread (proc_locks.h says why).
 * Parsing the lines is locks.c's. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/textfile.h"
#include "files/proc_locks.h"

static void read_all(struct proc_locks *pl)
{
	pl->err = read_text_file("/proc/locks", &pl->text);
	pl->done = true;
}

static void *reader_main(void *arg)
{
	read_all(arg);
	return NULL;
}

void proc_locks_start(struct proc_locks *pl)
{
	sigset_t all, old;

	memset(pl, 0, sizeof(*pl));
	/* Signals are the tracing thread's business (the seize timer, SIGCHLD). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pl->started = !pthread_create(&pl->thread, NULL, reader_main, pl);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int proc_locks_text(struct proc_locks *pl, const char **text)
{
	if (pl->started) {
		pthread_join(pl->thread, NULL);
		pl->started = false;
	}
	if (!pl->done)
		read_all(pl);
	*text = pl->text;
	return pl->err;
}

void proc_locks_free(struct proc_locks *pl)
{
	if (pl->started)
		pthread_join(pl->thread, NULL);
	free(pl->text);
	memset(pl, 0, sizeof(*pl));
}
