/* A program in a mount namespace of its own (the runner unshares it) with
 * an overlay mount, which cryo cannot make again: its dump must be refused,
 * naming the mount, and the program runs on. On SIGTERM it checks that the
 * overlay still shows its lower file. Its mounts go with its namespace. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	char t[4096], lower[4200], upper[4200], work[4200], o[4096], opts[13000], file[4200];
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	char buf[16] = "";
	sigset_t term;
	int fd;

	prog_init(argc, argv);
	snprintf(t, sizeof(t), "%s/t", prog_dir());
	snprintf(o, sizeof(o), "%s/o", prog_dir());
	snprintf(lower, sizeof(lower), "%s/lower", t);
	snprintf(upper, sizeof(upper), "%s/upper", t);
	snprintf(work, sizeof(work), "%s/work", t);
	snprintf(file, sizeof(file), "%s/lower/f", t);
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) || mkdir(t, 0755) || mkdir(o, 0755) ||
	    mount("cryo-test", t, "tmpfs", 0, "size=1m") || mkdir(lower, 0755) ||
	    mkdir(upper, 0755) || mkdir(work, 0755) ||
	    (fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0 || write(fd, "low", 3) != 3 ||
	    close(fd) || mount("cryo-overlay", o, "overlay", 0, opts)) {
		prog_fail("setup: %s", strerror(errno));
		prog_finish();
	}
	prog_ready();
	/* Ticks, so that the runner sees it still runs after the dump. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM)
		;
	snprintf(file, sizeof(file), "%s/f", o);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	PROG_CHECK(fd >= 0 && read(fd, buf, sizeof(buf) - 1) == 3 && !strcmp(buf, "low"),
		   "the overlay shows '%s'", buf);
	prog_finish();
}
