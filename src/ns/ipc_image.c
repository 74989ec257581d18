/* The sysctls an IPC namespace saves, and the checks of ipc-ns.img, apart
 * from any process, so that the image fuzzer can link them alone. */
#include <errno.h>
#include <string.h>

#include "images/proto/ipc_ns.pb-c.h"
#include "ns/ipc.h"

/* Each belongs to the IPC namespace of the reader or writer. */
const char *const ipc_ns_sysctls[] = {
	"kernel/shmmax", "kernel/shmall", "kernel/shmmni", "kernel/shm_rmid_forced",
	"kernel/msgmax", "kernel/msgmnb", "kernel/msgmni", "kernel/auto_msgmni", "kernel/sem",
	"fs/mqueue/queues_max", "fs/mqueue/msg_max", "fs/mqueue/msgsize_max",
	"fs/mqueue/msg_default", "fs/mqueue/msgsize_default",
	"kernel/sem_next_id", "kernel/msg_next_id", "kernel/shm_next_id",
	NULL,
};

/* The longest value: kernel.sem's four numbers. */
#define VALUE_MAX 128

bool ipc_ns_sysctl_known(const char *name)
{
	for (size_t i = 0; ipc_ns_sysctls[i]; i++)
		if (!strcmp(name, ipc_ns_sysctls[i]))
			return true;
	return false;
}

static const char *sysctl_problem(const IpcNs *ns, size_t i)
{
	const IpcSysctl *s = ns->sysctls[i];
	size_t len = strlen(s->value);

	if (!ipc_ns_sysctl_known(s->name))
		return "not an IPC namespace's sysctl";
	for (size_t j = 0; j < i; j++)
		if (!strcmp(ns->sysctls[j]->name, s->name))
			return "saved twice";
	if (!len || len > VALUE_MAX || strspn(s->value, "0123456789 \t-") != len)
		return "its value is not numbers";
	return NULL;
}

int ipc_ns_image_check(const struct image *img, const struct image_dir *dir, int id)
{
	const IpcNs *ns;

	(void)dir;
	(void)id;
	if (img->nr_records != 1) {
		image_error(img->path, 0, "%zu records, where one is expected", img->nr_records);
		return -EBADMSG;
	}
	ns = (const IpcNs *)img->records[0].msg;
	for (size_t i = 0; i < ns->n_sysctls; i++) {
		const char *problem = sysctl_problem(ns, i);

		if (problem) {
			image_error(img->path, img->records[0].offset, "sysctl %zu (%.64s): %s", i,
				    ns->sysctls[i]->name, problem);
			return -EBADMSG;
		}
	}
	return 0;
}
