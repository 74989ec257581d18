/* Per-process state that dump refuses by name, with the dumped program
 * unharmed (issue 11): seccomp filters the kernel would not let the
 * thread install again, fanotify groups. */
#include <stdio.h>

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

TEST(dump_refuses_seccomp_filters_a_thread_could_not_install_again)
{
	check_refused("neg_seccomp_no_nnp", true, "seccomp filters without no_new_privs, in a thread "
					    "without CAP_SYS_ADMIN");
}

TEST(dump_refuses_a_fanotify_group_by_name)
{
	check_refused("neg_fanotify", false, "fanotify files are not supported");
}
