/* Creating a process in new namespaces with chosen pids: clone3() with
 * CLONE_NEW* flags and a set_tid array of one pid per pid-namespace level
 * (innermost first). Choosing pids needs CAP_CHECKPOINT_RESTORE (or
 * CAP_SYS_ADMIN) in the user namespace owning each level. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kabi/kabi.h"
#include "ns/ns.h"

/* New namespaces, and what a process of a tree may share with its parent;
 * never CLONE_VM or CLONE_THREAD, after which the child could not run as
 * after fork(). */
#define NS_CLONE_FLAGS                                                                  \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |   \
	 CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME | CLONE_FS | CLONE_FILES | CLONE_PARENT)

pid_t ns_clone(const struct ns_clone_args *args)
{
	struct clone_args ca = {
		.flags = args->flags,
		.exit_signal = (uint64_t)args->exit_signal,
		.set_tid = (uint64_t)(uintptr_t)args->set_tid,
		.set_tid_size = args->nr_set_tid,
	};
	long ret;

	if (args->flags & ~(uint64_t)NS_CLONE_FLAGS || args->nr_set_tid > NS_PID_LEVELS_MAX ||
	    (args->nr_set_tid && !args->set_tid) || args->exit_signal < 0 ||
	    args->exit_signal >= NSIG)
		return -EINVAL;
	ret = syscall(SYS_clone3, &ca, sizeof(ca));
	return ret < 0 ? -errno : (pid_t)ret;
}
