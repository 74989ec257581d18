/* The credentials in the restorer's arguments: the process's, each thread's
 * own where the image gives it some, and which threads set no_new_privs
 * themselves; ids as the tree's user namespace sees them. Not here: how
 * the restorer sets them (restorer/main.c), what a restore may grant
 * (trust.c). */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "ns/user.h"
#include "restore/area.h"
#include "task/task.h"

static uint32_t last_cap(void)
{
	unsigned int cap = 40;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");

	if (f) {
		if (fscanf(f, "%u", &cap) != 1)
			cap = 40;
		fclose(f);
	}
	return cap;
}

/* The ids of a task in the tree's user namespace, as it sees them there,
 * where the restorer sets them. The process's groups are set before it
 * enters, as cryo sees them (setgroups may be denied inside); a thread's
 * own groups can only be set inside, so they are translated too. */
static int ids_inside(const struct restore_task *rt, pid_t tid, struct restorer_creds *c)
{
	uint32_t *uids[] = { &c->uid, &c->euid, &c->suid, &c->fsuid };
	uint32_t *gids[] = { &c->gid, &c->egid, &c->sgid, &c->fsgid };
	uint32_t *groups = (uint32_t *)(uintptr_t)c->groups;
	char who[48];

	snprintf(who, sizeof(who), tid == rt->pid ? "pid %d" : "pid %d thread %d", rt->pid, tid);
	for (size_t i = 0; i < 4; i++) {
		if (ns_user_inside(rt->userns, false, *uids[i], uids[i]) ||
		    ns_user_inside(rt->userns, true, *gids[i], gids[i])) {
			pr_err("restore: %s: uid %u or gid %u has no id in its user namespace", who,
			       *uids[i], *gids[i]);
			return -ERANGE;
		}
	}
	for (uint32_t i = 0; c->own_groups && i < c->nr_groups; i++) {
		if (ns_user_inside(rt->userns, true, groups[i], &groups[i])) {
			pr_err("restore: %s: group %u has no id in its user namespace", who,
			       groups[i]);
			return -ERANGE;
		}
	}
	return 0;
}

static bool same_groups(const Creds *a, const Creds *b)
{
	return a->n_groups == b->n_groups &&
	       (!a->n_groups || !memcmp(a->groups, b->groups, a->n_groups * sizeof(uint32_t)));
}

/* @c, of thread @tid (the pid: the process's), as the restorer sets it,
 * its groups copied into the area. */
static int fill_one(struct restorer_creds *out, struct area *area, const struct restore_task *rt,
		    const Creds *c, pid_t tid, uint32_t cap_last)
{
	const TaskCore *core = rt->core;
	uint32_t *groups = area_alloc(area, (c->n_groups + 1) * sizeof(uint32_t));

	if (!groups)
		return -ENOMEM;
	/* protobuf-c leaves an empty array NULL, which memcpy may not take. */
	if (c->n_groups)
		memcpy(groups, c->groups, c->n_groups * sizeof(uint32_t));
	*out = (struct restorer_creds){
		.uid = c->uid, .euid = c->euid, .suid = c->suid, .fsuid = c->fsuid,
		.gid = c->gid, .egid = c->egid, .sgid = c->sgid, .fsgid = c->fsgid,
		.nr_groups = (uint32_t)c->n_groups,
		.securebits = c->securebits,
		.groups = (uint64_t)(uintptr_t)groups,
		.cap_inheritable = c->cap_inheritable,
		.cap_permitted = c->cap_permitted,
		.cap_effective = c->cap_effective,
		.cap_bounding = c->cap_bounding,
		.cap_ambient = c->cap_ambient,
		.last_cap = cap_last,
		.dumpable = core->prctl ? core->prctl->dumpable : 1,
		.own_groups = c != core->creds && !same_groups(c, core->creds),
	};
	/* Taken away again by cryo once the seccomp filters are in. */
	if (task_seccomp_needs_admin(core)) {
		out->cap_effective |= 1ULL << CAP_SYS_ADMIN;
		out->cap_permitted |= 1ULL << CAP_SYS_ADMIN;
	}
	return ns_user_fd(rt->userns) >= 0 ? ids_inside(rt, tid, out) : 0;
}

int area_fill_creds(struct restorer_args *args, struct restorer_thread *threads,
		    struct area *area, const struct restore_task *rt)
{
	const TaskCore *core = rt->core;
	bool nnp_whole = task_nnp_every_thread(core);
	uint32_t cap_last;
	int ret;

	for (size_t i = 0; i < core->n_threads; i++)
		threads[i].no_new_privs = !nnp_whole && task_thread_nnp(core, core->threads[i]);
	if (!core->creds)
		return 0;
	cap_last = last_cap();
	ret = fill_one(&args->creds, area, rt, core->creds, rt->pid, cap_last);
	if (ret)
		return ret;
	args->has_creds = 1;
	for (size_t i = 0; i < core->n_threads; i++) {
		const ThreadCore *t = core->threads[i];
		struct restorer_creds *own;

		if (!t->creds)
			continue;
		own = area_alloc(area, sizeof(*own));
		if (!own)
			return -ENOMEM;
		ret = fill_one(own, area, rt, t->creds, t->tid, cap_last);
		if (ret)
			return ret;
		threads[i].creds = (uint64_t)(uintptr_t)own;
	}
	return 0;
}

size_t area_creds_room(const TaskCore *core)
{
	size_t n = 0;

	if (core->creds)
		n += (core->creds->n_groups + 1) * sizeof(uint32_t) + 64;
	for (size_t i = 0; i < core->n_threads; i++)
		if (core->threads[i]->creds)
			n += sizeof(struct restorer_creds) + 64 +
			     (core->threads[i]->creds->n_groups + 1) * sizeof(uint32_t) + 64;
	return n;
}
