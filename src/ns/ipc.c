/* The IPC namespace of a tree that has its own (ns/ipc.h): its sysctls,
 * and the order of things. Dump enters the namespace for the SysV objects
 * and POSIX message queues (ipc/: its segments are saved from inside,
 * those nobody attaches too) and reads its sysctls.
 * Restore makes the namespace in cryo itself rather than with a clone flag
 * for the root: its objects must exist, filled by cryo from inside, before
 * any process of the tree does, and every process cryo creates is then
 * born in it. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/proto/ipc_ns.pb-c.h"
#include "ipc/posix_mq.h"
#include "ipc/sysv_objects.h"
#include "ns/enter.h"
#include "ns/ipc.h"
#include "ns/ns.h"
#include "ns/user.h"
#include "ns/sysctl.h"

struct ipc_ns_set {
	struct image *img;	/* ipc-ns.img; NULL: the tree was in cryo's */
	struct sysv_objects *objects;
	struct posix_mq_set *queues;
	int back;		/* cryo's own namespace while it is in the new one */
};

static bool is_next_id(const char *name)
{
	size_t len = strlen(name);

	return len > 8 && !strcmp(name + len - 8, "_next_id");
}

/* ---- dump ---------------------------------------------------------------- */

static int write_sysctls(struct image_dir *dir, const char *who)
{
	IpcSysctl recs[32], *ptrs[32];
	char *texts[32] = { NULL };
	IpcNs ns = IPC_NS__INIT;
	size_t n = 0;
	int ret = 0;

	for (size_t i = 0; ipc_ns_sysctls[i] && n < ARRAY_SIZE(recs) && !ret; i++) {
		ret = ns_sysctl_read(who, ipc_ns_sysctls[i], &texts[n]);
		if (ret == -ENOENT) {
			/* A kernel without it (no POSIX message queues). */
			ret = 0;
			continue;
		}
		if (ret)
			break;
		ipc_sysctl__init(&recs[n]);
		recs[n].name = (char *)ipc_ns_sysctls[i];
		recs[n].value = texts[n];
		ptrs[n] = &recs[n];
		n++;
	}
	ns.n_sysctls = n;
	ns.sysctls = ptrs;
	if (!ret)
		ret = image_write_single(dir, IMG_IPC_NS, 0, &ns.base);
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	return ret;
}

int ipc_ns_dump(pid_t root, struct image_dir *dir, int *back)
{
	struct ns_ids ids;
	char who[96];
	int ret = ns_dump_enter(root, NS_IPC, CLONE_NEWIPC, &ids, who, sizeof(who), back);

	if (ret <= 0)
		return ret;
	ret = write_sysctls(dir, who);
	if (!ret)
		ret = sysv_sem_dump(dir, who);
	if (!ret)
		ret = sysv_msg_dump(dir, who);
	if (!ret)
		ret = posix_mq_dump(dir, who);
	if (ret) {
		ipc_ns_dump_leave(*back);
		*back = -1;
	}
	return ret;
}

int ipc_ns_dump_leave(int back)
{
	return ns_dump_leave(back, NS_IPC, CLONE_NEWIPC);
}

/* ---- restore ------------------------------------------------------------- */

void ipc_ns_free(struct ipc_ns_set *set)
{
	if (!set)
		return;
	ipc_ns_leave(set);
	sysv_objects_free(set->objects);
	posix_mq_free(set->queues);
	image_free(set->img);
	free(set);
}

void ipc_ns_forget(struct ipc_ns_set *set)
{
	if (!set || !set->img)
		return;
	pr_info("restore: the tree's IPC namespace and its objects are not made: it joins "
		"another");
	image_free(set->img);
	set->img = NULL;
}

int ipc_ns_load(const struct image_dir *dir, struct ipc_ns_set **out)
{
	struct ipc_ns_set *set = calloc(1, sizeof(*set));
	int ret = 0;

	if (!set)
		return -ENOMEM;
	set->back = -1;
	if (!faccessat(dir->fd, "ipc-ns.img", F_OK, 0) || errno != ENOENT)
		ret = image_read(dir, IMG_IPC_NS, 0, &set->img);
	if (!ret)
		ret = sysv_objects_load(dir, &set->objects);
	if (!ret)
		ret = posix_mq_load(dir, &set->queues);
	if (!ret && !set->img &&
	    (set->objects->sem_img || set->objects->msg_img || posix_mq_count(set->queues))) {
		pr_err("restore: SysV semaphore sets, message queues or POSIX message queues are "
		       "saved without their IPC namespace (ipc-ns.img)");
		ret = -EBADMSG;
	}
	if (ret) {
		ipc_ns_free(set);
		return ret;
	}
	*out = set;
	return 0;
}

/* The limits (@next_ids false) or the *_next_id values (true). */
static int write_sysctls_of(const struct ipc_ns_set *set, bool next_ids)
{
	const IpcNs *ns = (const IpcNs *)set->img->records[0].msg;

	for (size_t i = 0; i < ns->n_sysctls; i++) {
		int ret;

		/* -1 (none chosen) is a new namespace's, and cannot be written. */
		if (is_next_id(ns->sysctls[i]->name) != next_ids ||
		    (next_ids && !strcmp(ns->sysctls[i]->value, "-1")))
			continue;
		ret = ns_sysctl_write("IPC namespace", ns->sysctls[i]->name,
				     ns->sysctls[i]->value);
		if (ret)
			return ret;
	}
	return 0;
}

int ipc_ns_make(struct ipc_ns_set *set, const struct ns_user_set *userns)
{
	int ret;

	if (!set || !set->img)
		return 0;
	set->back = open("/proc/thread-self/ns/ipc", O_RDONLY | O_CLOEXEC);
	if (set->back < 0)
		return pr_errno_ret("restore: cannot open cryo's own IPC namespace");
	if (ns_user_unshare(userns, CLONE_NEWIPC)) {
		ret = pr_errno_ret("restore: cannot make the tree's IPC namespace");
		close(set->back);
		set->back = -1;
		return ret;
	}
	/* In a namespace of the tree's user namespace, only its root may
	 * write them (ipc_permissions()). */
	ret = ns_user_become_root(userns, false);
	if (!ret) {
		ret = write_sysctls_of(set, false);
		if (ns_user_become_root(userns, true) && !ret)
			ret = pr_errno_ret("restore: cannot take cryo's own ids back");
	}
	if (!ret)
		ret = sysv_sem_create(set->objects);
	if (!ret)
		ret = sysv_msg_create(set->objects);
	if (!ret)
		ret = posix_mq_create(set->queues);
	if (!ret)
		pr_info("restore: the tree's IPC namespace is made");
	return ret;
}

int ipc_ns_fill_next_ids(struct ipc_ns_set *set)
{
	return set && set->img ? write_sysctls_of(set, true) : 0;
}

void ipc_ns_leave(struct ipc_ns_set *set)
{
	if (!set || set->back < 0)
		return;
	if (setns(set->back, CLONE_NEWIPC))
		pr_warn("restore: cannot go back to cryo's own IPC namespace: %s",
			strerror(errno));
	close(set->back);
	set->back = -1;
}
