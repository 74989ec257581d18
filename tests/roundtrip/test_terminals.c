/* Negative tests of terminals: a restore whose pty index is taken is
 * refused naming the index and leaves nothing behind, and succeeds once the
 * index is free; a session on a pty past index 255 comes back at its
 * index; a dump of a pty whose queue is too full to be read out
 * and put back in order is refused naming the fd, and the program keeps
 * its bytes. Runs
 * the real cryo binary, like test_negative, and ends and reaps every
 * process it started. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "runner_util.h"

/* prog_pty's first master. */
#define PROG_PTY_MASTER 10
#define MAX_HELD 4096

/* The pty index of @pid's fd @fd, from its fdinfo; -1 if none. */
static int pty_index_of(pid_t pid, int fd)
{
	char path[64], text[1024];
	const char *at;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	if (!read_text(path, text, sizeof(text)))
		return -1;
	at = strstr(text, "tty-index:");
	return at ? atoi(at + strlen("tty-index:")) : -1;
}

/* Opens masters until one has @index; all opened are kept in @held. */
static bool take_index(int index, int *held, int *nr)
{
	while (*nr < MAX_HELD) {
		int fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		unsigned int got;

		if (fd < 0 || ioctl(fd, TIOCGPTN, &got))
			return fail_why("/dev/ptmx: %s", strerror(errno));
		held[(*nr)++] = fd;
		if ((int)got == index)
			return true;
		if ((int)got > index)
			return fail_why("pty index %d was not free (got %u)", index, got);
	}
	return fail_why("no pty index %d after %d opens", index, MAX_HELD);
}

static void release(int *held, int *nr)
{
	while (*nr)
		close(held[--*nr]);
}

TEST(restore_refuses_a_pty_index_that_is_taken_and_works_once_it_is_free)
{
	char img[PATH_MAX], pidfile[PATH_MAX], pid_text[16], expect[96];
	static int held[MAX_HELD];
	struct prog p = { 0 };
	struct cryo_run r;
	int index, nr = 0, status;
	pid_t image_pid = 0;

	CHECK_GOTO(start_prog(&p, "prog_pty", NULL, NULL), out, "%s", why);
	index = pty_index_of(p.pid, PROG_PTY_MASTER);
	CHECK_GOTO(index >= 0, out, "no tty-index in the fdinfo of prog_pty's fd %d",
		   PROG_PTY_MASTER);
	pathf(img, "%s/img", p.dir);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img);
	CHECK_GOTO(r.status == 0, out, "the dump failed (%d): %s", r.status, r.out);
	CHECK_GOTO(wait_child(p.pid, 5000, &status), out, "prog_pty outlived its dump");
	image_pid = p.pid;
	p.pid = 0;
	/* Its ptys go a moment after it. */
	sleep_ms(100);
	CHECK_GOTO(take_index(index, held, &nr), out, "%s", why);
	snprintf(expect, sizeof(expect), "pty index %d is taken: /dev/pts/%d exists", index, index);
	pathf(pidfile, "%s/restored.pid", p.dir);
	prog_cryo(&r, &p, "restore", "-D", img, "-d", "--pidfile", pidfile);
	CHECK_GOTO(refused(&r, expect, NULL), out, "%s", why);
	CHECK_GOTO(!end_children(0, NULL, 0), out, "the refused restore left a process behind");
	CHECK_GOTO(kill(image_pid, 0) && errno == ESRCH, out, "pid %d lives after a refused "
		   "restore", image_pid);
	release(held, &nr);
	prog_cryo(&r, &p, "restore", "-D", img, "-d", "--pidfile", pidfile);
	CHECK_GOTO(r.status == 0, out, "the restore once the index was free failed (%d): %s",
		   r.status, r.out);
	p.pid = image_pid;
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	release(held, &nr);
	end_prog(&p);
}

/* A session on a pty above index 255 (device 136:N, N past 8 bits), whose
 * index restore reaches by opening every free one below it. */
TEST(a_session_on_a_pty_past_index_255_comes_back_at_its_index)
{
	char img[PATH_MAX], pidfile[PATH_MAX], pid_text[16];
	static int held[MAX_HELD];
	struct prog p = { 0 };
	struct cryo_run r;
	int nr = 0, status;
	pid_t image_pid = 0;

	CHECK_GOTO(take_index(300, held, &nr), out, "%s", why);
	CHECK_GOTO(start_prog(&p, "prog_pty_session", NULL, NULL), out, "%s", why);
	CHECK_GOTO(pty_index_of(p.pid, 10) > 300, out, "prog_pty_session has pty %d",
		   pty_index_of(p.pid, 10));
	pathf(img, "%s/img", p.dir);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img);
	CHECK_GOTO(r.status == 0, out, "the dump failed (%d): %s", r.status, r.out);
	CHECK_GOTO(wait_child(p.pid, 5000, &status), out, "prog_pty_session outlived its dump");
	CHECK_GOTO(reap_all_children(5000), out, "its children outlive its dump");
	image_pid = p.pid;
	p.pid = 0;
	release(held, &nr);
	sleep_ms(100);
	pathf(pidfile, "%s/restored.pid", p.dir);
	prog_cryo(&r, &p, "restore", "-D", img, "-d", "--pidfile", pidfile);
	CHECK_GOTO(r.status == 0, out, "the restore failed (%d): %s", r.status, r.out);
	p.pid = image_pid;
	/* It checks its index, session, foreground group and terminals. */
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	release(held, &nr);
	end_prog(&p);
}

TEST(dump_refuses_a_queue_it_cannot_put_back_in_order_and_the_program_keeps_it)
{
	char img[PATH_MAX], pid_text[16], expect[64];
	struct prog p = { 0 };
	struct cryo_run r;

	CHECK_GOTO(start_prog(&p, "neg_pty_full", NULL, NULL), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	snprintf(expect, sizeof(expect), "pid %d fd ", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img);
	CHECK_GOTO(refused(&r, expect, "a queue this full may hold more in the tty layer", NULL),
		   out, "%s", why);
	CHECK_GOTO(no_inventory(img), out, "%s", why);
	/* It reads back every byte, in order. */
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}
