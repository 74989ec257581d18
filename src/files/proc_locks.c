/* The dump's one read of /proc/locks, on a thread (proc_locks.h says why).
 * Parsing the lines is locks.c's. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files/proc_locks.h"

static void read_all(struct proc_locks *pl)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	int fd = open("/proc/locks", O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0 || !buf)
		err = fd < 0 ? -errno : -ENOMEM;
	while (!err) {
		ssize_t n;

		if (cap - len < 1024) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger) {
				err = -ENOMEM;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	if (err) {
		free(buf);
		buf = NULL;
		len = 0;
	} else {
		buf[len] = '\0';
	}
	pl->text = buf;
	pl->len = len;
	pl->err = err;
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
