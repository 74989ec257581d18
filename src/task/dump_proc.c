/* Dump of the attributes anyone with ptrace access can read from outside:
 * /proc/PID/{stat,status,comm,personality,limits} and each thread's comm
 * (cwd and root are dump_dirs.c's). What only the task itself can see goes
 * through the parasite (dump.c); pending signals and rseq need ptrace
 * (dump_ptrace.c). */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/procfs.h"
#include "common/textfile.h"
#include "task/internal.h"
#include "task/task.h"

int proc_read(pid_t pid, const char *name, char **text)
{
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	ret = read_text_file(path, text);
	if (ret)
		pr_err("dump: pid %d: cannot read %s: %s", pid, path, strerror(-ret));
	return ret;
}

/* A comm file's content without its newline, as a heap string. */
static int read_comm(pid_t pid, const char *name, char **out)
{
	int ret = proc_read(pid, name, out);

	if (!ret)
		(*out)[strcspn(*out, "\n")] = '\0';
	return ret;
}

/* ppid, pgid, sid and exit signal, from stat. */
static int dump_stat(pid_t pid, TaskCore *core)
{
	struct proc_stat st;
	int ret = proc_stat_read(pid, &st);

	if (ret) {
		pr_err("dump: pid %d: cannot read /proc/%d/stat: %s", pid, pid, strerror(-ret));
		return ret;
	}
	core->ppid = st.ppid;
	core->pgid = st.pgid;
	core->sid = st.sid;
	core->exit_signal = st.exit_signal;
	return 0;
}

static int parse_ids(const char *status, const char *key, uint32_t ids[4])
{
	const char *v = status_field(status, key);

	if (!v || sscanf(v, "%" SCNu32 " %" SCNu32 " %" SCNu32 " %" SCNu32, &ids[0], &ids[1],
			 &ids[2], &ids[3]) != 4)
		return -EIO;
	return 0;
}

static int parse_hex(const char *status, const char *key, uint64_t *value)
{
	const char *v = status_field(status, key);

	if (!v || sscanf(v, "%" SCNx64, value) != 1)
		return -EIO;
	return 0;
}

static int parse_groups(const char *status, Creds *creds)
{
	const char *v = status_field(status, "Groups");
	char *end;

	if (!v)
		return -EIO;
	for (;;) {
		unsigned long gid;

		while (*v == ' ' || *v == '\t')
			v++;
		if (*v == '\n' || !*v)
			return 0;
		errno = 0;
		gid = strtoul(v, &end, 10);
		if (end == v || errno || gid > UINT32_MAX)
			return -EIO;
		if (task_push(creds->groups, creds->n_groups, (uint32_t)gid))
			return -ENOMEM;
		v = end;
	}
}

static int parse_creds(const char *status, Creds *creds)
{
	uint32_t uids[4], gids[4];
	int ret;

	ret = parse_ids(status, "Uid", uids);
	if (!ret)
		ret = parse_ids(status, "Gid", gids);
	if (!ret)
		ret = parse_hex(status, "CapInh", &creds->cap_inheritable);
	if (!ret)
		ret = parse_hex(status, "CapPrm", &creds->cap_permitted);
	if (!ret)
		ret = parse_hex(status, "CapEff", &creds->cap_effective);
	if (!ret)
		ret = parse_hex(status, "CapBnd", &creds->cap_bounding);
	if (!ret)
		ret = parse_hex(status, "CapAmb", &creds->cap_ambient);
	if (!ret)
		ret = parse_groups(status, creds);
	if (ret)
		return ret;
	creds->uid = uids[0];
	creds->euid = uids[1];
	creds->suid = uids[2];
	creds->fsuid = uids[3];
	creds->gid = gids[0];
	creds->egid = gids[1];
	creds->sgid = gids[2];
	creds->fsgid = gids[3];
	return 0;
}

/* umask, creds and no_new_privs from status. The prctl state and the
 * securebits are completed through the parasite. */
static int dump_status(pid_t pid, TaskCore *core)
{
	_cleanup_free_ char *buf = NULL;
	uint64_t umask_value, nnp;
	int ret;

	ret = proc_read(pid, "status", &buf);
	if (ret)
		return ret;
	core->creds = malloc(sizeof(*core->creds));
	core->prctl = malloc(sizeof(*core->prctl));
	if (!core->creds || !core->prctl)
		return -ENOMEM;
	creds__init(core->creds);
	prctl_state__init(core->prctl);
	ret = parse_creds(buf, core->creds);
	if (ret == -ENOMEM)
		return ret;
	if (!ret)
		ret = lsm_label_dump(pid, pid, core->creds);
	if (ret == -ENOMEM)
		return ret;
	if (!ret && (!status_field(buf, "Umask") ||
		     sscanf(status_field(buf, "Umask"), "%" SCNo64, &umask_value) != 1))
		ret = -EIO;
	if (!ret && (!status_field(buf, "NoNewPrivs") ||
		     sscanf(status_field(buf, "NoNewPrivs"), "%" SCNu64, &nnp) != 1))
		ret = -EIO;
	if (ret) {
		pr_err("dump: pid %d: cannot parse the ids, capabilities, umask or NoNewPrivs in /proc/%d/status",
		       pid, pid);
		return ret;
	}
	core->umask = (uint32_t)umask_value;
	core->prctl->no_new_privs = nnp != 0;
	return 0;
}

static int dump_personality(pid_t pid, TaskCore *core)
{
	_cleanup_free_ char *buf = NULL;
	unsigned int value;
	int ret = proc_read(pid, "personality", &buf);

	if (ret)
		return ret;
	if (sscanf(buf, "%x", &value) != 1) {
		pr_err("dump: pid %d: cannot parse /proc/%d/personality", pid, pid);
		return -EIO;
	}
	core->personality = value;
	return 0;
}

/* Where a value of /proc/PID/limits begins: the kernel prints each line as
 * "%-25s %-20s %-20s %-10s" (name, soft, hard, unit), in resource order. */
#define LIMITS_SOFT_COLUMN 26
#define LIMITS_HARD_COLUMN 47

static int parse_limit(const char *text, uint64_t *value)
{
	char *end;

	if (!strncmp(text, "unlimited ", 10)) {
		*value = RLIM_INFINITY;
		return 0;
	}
	errno = 0;
	*value = strtoull(text, &end, 10);
	return end == text || *end != ' ' || errno ? -EIO : 0;
}

/* From /proc/PID/limits, not prlimit(): reading another process's limits
 * with prlimit() needs CAP_SYS_RESOURCE unless all its ids are ours. */
static int dump_rlimits(pid_t pid, TaskCore *core)
{
	_cleanup_free_ char *buf = NULL;
	char *line;
	int ret = proc_read(pid, "limits", &buf);

	if (ret)
		return ret;
	line = buf;
	for (int res = -1; res < RLIM_NLIMITS; res++) {
		char *eol = strchr(line, '\n');
		Rlimit *r;

		/* Line 0 is the header; a line shorter than its columns is cut. */
		if (!eol || eol - line <= LIMITS_HARD_COLUMN)
			goto bad;
		if (res < 0) {
			line = eol + 1;
			continue;
		}
		r = malloc(sizeof(*r));
		if (!r)
			return -ENOMEM;
		rlimit__init(r);
		r->resource = res;
		if (parse_limit(line + LIMITS_SOFT_COLUMN, &r->cur) ||
		    parse_limit(line + LIMITS_HARD_COLUMN, &r->max)) {
			free(r);
			goto bad;
		}
		if (task_push(core->rlimits, core->n_rlimits, r)) {
			free(r);
			return -ENOMEM;
		}
		line = eol + 1;
	}
	return 0;
bad:
	pr_err("dump: pid %d: cannot parse /proc/%d/limits near \"%.40s\"", pid, pid, line);
	return -EIO;
}

bool task_creds_equal(const Creds *a, const Creds *b)
{
	return a->uid == b->uid && a->euid == b->euid && a->suid == b->suid &&
	       a->fsuid == b->fsuid && a->gid == b->gid && a->egid == b->egid &&
	       a->sgid == b->sgid && a->fsgid == b->fsgid &&
	       a->cap_inheritable == b->cap_inheritable && a->cap_permitted == b->cap_permitted &&
	       a->cap_effective == b->cap_effective && a->cap_bounding == b->cap_bounding &&
	       a->cap_ambient == b->cap_ambient && a->securebits == b->securebits &&
	       a->n_groups == b->n_groups &&
	       (!a->n_groups || !memcmp(a->groups, b->groups, a->n_groups * sizeof(uint32_t))) &&
	       !strcmp(a->lsm_profile ? a->lsm_profile : "", b->lsm_profile ? b->lsm_profile : "");
}

/* Credentials are per thread in the kernel (a raw setresuid, setfsuid,
 * setgroups or capset acts on the calling thread only), and so is
 * no_new_privs. A thread's are read here into its own Creds, which stay
 * only if they differ from the main thread's once its securebits, which
 * only it can tell, are known (dump_threads.c); its no_new_privs is saved
 * when it differs. An LSM label of its own is refused: none is restored. */
static int dump_thread_creds(pid_t pid, ThreadCore *thread, const TaskCore *core)
{
	const char *main_label = core->creds->lsm_profile ? core->creds->lsm_profile : "";
	_cleanup_free_ char *buf = NULL;
	const char *nnp;
	char name[64];
	int ret;

	snprintf(name, sizeof(name), "task/%d/status", thread->tid);
	ret = proc_read(pid, name, &buf);
	if (ret)
		return ret;
	thread->creds = malloc(sizeof(*thread->creds));
	if (!thread->creds)
		return -ENOMEM;
	creds__init(thread->creds);
	ret = parse_creds(buf, thread->creds);
	nnp = status_field(buf, "NoNewPrivs");
	if (ret == -ENOMEM)
		return ret;
	if (ret || !nnp) {
		pr_err("dump: pid %d thread %d: cannot parse the ids, capabilities or NoNewPrivs in /proc/%d/task/%d/status",
		       pid, thread->tid, pid, thread->tid);
		return -EIO;
	}
	ret = lsm_label_dump(pid, thread->tid, thread->creds);
	if (ret)
		return ret;
	if (strcmp(thread->creds->lsm_profile ? thread->creds->lsm_profile : "", main_label)) {
		pr_err("dump: pid %d thread %d: its LSM label \"%s\" differs from the main thread's \"%s\": a thread's own label is not supported",
		       pid, thread->tid, thread->creds->lsm_profile ? thread->creds->lsm_profile : "",
		       main_label);
		return -EOPNOTSUPP;
	}
	if ((strtol(nnp, NULL, 10) != 0) != core->prctl->no_new_privs) {
		thread->has_no_new_privs = true;
		thread->no_new_privs = !core->prctl->no_new_privs;
	}
	return 0;
}

/* One ThreadCore per thread, with the thread's comm when it differs from
 * the process's, and every other thread's credentials and no_new_privs. */
static int dump_threads(struct inj_task *task, TaskCore *core)
{
	pid_t pid = inj_task_pid(task);

	for (int i = 0; i < inj_thread_count(task); i++) {
		pid_t tid = inj_thread_tid(task, i);
		ThreadCore *thread = task_thread_get(core, tid);
		char name[64];
		char *comm;
		int ret;

		if (!thread)
			return -ENOMEM;
		if (tid != pid) {
			ret = dump_thread_creds(pid, thread, core);
			if (ret)
				return ret;
		}
		snprintf(name, sizeof(name), "task/%d/comm", tid);
		ret = read_comm(pid, name, &comm);
		if (ret)
			return ret;
		if (!strcmp(comm, core->comm)) {
			free(comm);
			continue;
		}
		free(thread->comm);
		thread->comm = comm;
	}
	return 0;
}

int dump_proc_attrs(struct inj_task *task, TaskCore *core)
{
	pid_t pid = inj_task_pid(task);
	char *comm;
	int ret;

	core->pid = pid;
	ret = read_comm(pid, "comm", &comm);
	if (ret)
		return ret;
	core->comm = comm;
	ret = dump_stat(pid, core);
	if (!ret)
		ret = dump_status(pid, core);
	if (!ret)
		ret = dump_personality(pid, core);
	if (!ret)
		ret = dump_rlimits(pid, core);
	if (!ret)
		ret = dump_threads(task, core);
	/* After the threads: a thread's own fs info goes in its entry. */
	if (!ret)
		ret = dump_dirs(task, core);
	return ret;
}
