/* Per-process state that dump refuses by name, with the dumped program
 * unharmed (issue 11): a fanotify mark of a mount namespace outside the
 * dump, a lease
 * being broken. (A lease
 * that is not being broken is saved: prog_leases.) */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"

/* @thread: the refusal names the main thread, else an fd. */
static void check_refused(const char *name, bool thread, const char *what)
{
	struct prog p = { 0 };
	char expect[64];

	CHECK_GOTO(start_prog(&p, name, NULL, NULL), out, "%s", why);
	if (thread)
		snprintf(expect, sizeof(expect), "dump: pid %d thread %d: ", p.pid, p.pid);
	else
		snprintf(expect, sizeof(expect), "dump: pid %d fd ", p.pid);
	CHECK_GOTO(dump_refused_unharmed(&p, expect, what), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

TEST(dump_refuses_a_fanotify_mark_of_a_mount_namespace_outside_the_dump_by_name)
{
	check_refused("neg_fanotify", false, "a mount namespace outside the dump: not supported");
}

#define LEASE_FD 5

/* The program holds a write lease at LEASE_FD whose break signal is
 * SIGURG (ignored by default: SIGIO would end prog_counter). */
static void hold_a_write_lease(void *arg)
{
	int fd = open((const char *)arg, O_RDONLY | O_CREAT, 0644);

	if (fd < 0 || dup2(fd, LEASE_FD) != LEASE_FD || fcntl(LEASE_FD, F_SETSIG, SIGURG) ||
	    fcntl(LEASE_FD, F_SETLEASE, F_WRLCK))
		_exit(125);
	if (fd != LEASE_FD)
		close(fd);
}

/* While another process's open() waits for the holder to give the lease
 * up, there is nothing cryo could take again: refused by name. */
TEST(dump_refuses_a_lease_being_broken_and_the_program_runs_on)
{
	char expect[PATH_MAX + 64], dir[PATH_MAX], file[PATH_MAX];
	struct prog p = { 0 };
	pid_t opener = -1;

	CHECK(make_temp_dir(dir), "cannot make a directory for the leased file");
	pathf(file, "%s/leased", dir);
	CHECK_GOTO(start_prog(&p, "prog_counter", hold_a_write_lease, file), out, "%s", why);
	opener = fork();
	if (opener == 0) {
		open(file, O_RDONLY);
		_exit(0);
	}
	/* The opener is in open() once the lease shows BREAKING. */
	for (int i = 0; i < 200; i++) {
		char path[64], info[1024] = "";

		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", p.pid, LEASE_FD);
		if (read_text(path, info, sizeof(info)) && strstr(info, "BREAKING"))
			break;
		usleep(10000);
	}
	snprintf(expect, sizeof(expect), "dump: pid %d fd %d (%s)", p.pid, LEASE_FD, file);
	CHECK_GOTO(dump_refused_unharmed(&p, expect, "a lease that is BREAKING"), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (opener > 0)
		kill(opener, SIGKILL);
	end_prog(&p);
	remove_temp_dir(dir);
}
