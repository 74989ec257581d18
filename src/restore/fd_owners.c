/* Files owned by a thread (F_SETOWN_EX with F_OWNER_TID) get their owner
 * from cryo, by a remote fcntl() in the seized task once the restorer has
 * made every thread: in stage 2, where the other owners are set
 * (files/owner.c), only the main thread exists. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "common/log.h"
#include "files/files.h"
#include "inject/inject.h"
#include "restore/restore.h"

int restore_thread_owners(struct inj_task *task, pid_t pid, const struct files_image *files)
{
	size_t n = files ? files_thread_owners(files, NULL, 0) : 0;
	struct files_thread_owner *owners;
	int ret = 0;

	if (!n)
		return 0;
	owners = calloc(n, sizeof(*owners));
	if (!owners)
		return -ENOMEM;
	files_thread_owners(files, owners, n);
	for (size_t i = 0; !ret && i < n; i++) {
		struct f_owner_ex owner = { F_OWNER_TID, owners[i].tid };
		const unsigned long args[6] = { (unsigned long)owners[i].fd, F_SETOWN_EX,
						INJ_ARG_BUF };
		long result;

		ret = inj_thread_syscall(task, inj_task_pid(task), &result, &owner, sizeof(owner),
					 SYS_fcntl, args);
		if (!ret && result)
			ret = (int)result;
		if (ret)
			pr_err("restore: pid %d fd %d: cannot give it its owner, thread %d "
			       "(F_SETOWN_EX): %s", pid, owners[i].fd, owners[i].tid,
			       strerror(-ret));
	}
	free(owners);
	return ret;
}
