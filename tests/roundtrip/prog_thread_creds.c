/* Round-trip program: threads with credentials of their own. Raw syscalls
 * act on the calling thread only (glibc's wrappers would change every
 * thread), so each thread changes one thing: its uids (setresuid 1000,
 * fsuid following), its fsuid alone (2000), its groups (5, 6, 7), its
 * capabilities (CAP_NET_RAW out of its effective and bounding sets), its
 * no_new_privs alone, and its securebits (keep-caps) with an ambient
 * capability. The parent-death signal is per thread too: the main thread
 * has SIGWINCH, one thread SIGURG, one SIGWINCH like it, the others none.
 * Each records what /proc/self/task/TID/status, capget,
 * PR_GET_SECUREBITS, PR_GET_NO_NEW_PRIVS and PR_GET_PDEATHSIG say, waits in
 * futex_wait, and on SIGTERM reads them all again: they must match. The
 * main thread must have kept root and every capability it had. (Both
 * signals are ignored by default: cryo, the restored root's parent, exits.) */
#include <linux/capability.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

#define CAP_NET_RAW_BIT 13
#define CAP_NET_BIND_SERVICE_BIT 10

/* What a thread can tell about its own credentials. */
struct creds_seen {
	char status[1024];	/* the Uid: ... NoNewPrivs: lines of its status */
	struct __user_cap_data_struct caps[2];
	int securebits;
	int nnp;
	int pdeath;
};

struct worker {
	const char *what;
	int (*change)(void);
	pid_t tid;
	struct creds_seen before;
	char verdict[512];	/* "" once it matched after restore */
	atomic_int ready;
};

static atomic_int go;

static int capget_self(struct __user_cap_data_struct caps[2])
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return (int)syscall(SYS_capget, &header, caps);
}

static int capset_self(struct __user_cap_data_struct caps[2])
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };

	return (int)syscall(SYS_capset, &header, caps);
}

static int own_uids(void)
{
	return (int)syscall(SYS_setresuid, 1000, 1000, 1000);
}

static int own_fsuid(void)
{
	syscall(SYS_setfsuid, 2000);
	return syscall(SYS_setfsuid, -1) == 2000 ? 0 : -1;
}

static int own_groups(void)
{
	const gid_t groups[] = { 5, 6, 7 };

	return (int)syscall(SYS_setgroups, 3, groups);
}

static int own_caps(void)
{
	struct __user_cap_data_struct caps[2];

	if (capget_self(caps))
		return -1;
	caps[0].effective &= ~(1u << CAP_NET_RAW_BIT);
	return capset_self(caps) || prctl(PR_CAPBSET_DROP, CAP_NET_RAW_BIT, 0, 0, 0) ? -1 : 0;
}

static int own_no_new_privs(void)
{
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static int own_pdeath_signal(void)
{
	return prctl(PR_SET_PDEATHSIG, SIGURG, 0, 0, 0);
}

/* The main thread's, set again: a new thread starts with none. */
static int pdeath_signal_as_main(void)
{
	return prctl(PR_SET_PDEATHSIG, SIGWINCH, 0, 0, 0);
}

/* Keep-caps in its securebits, and CAP_NET_BIND_SERVICE inheritable and
 * ambient. */
static int own_securebits(void)
{
	struct __user_cap_data_struct caps[2];

	if (capget_self(caps))
		return -1;
	caps[0].inheritable |= 1u << CAP_NET_BIND_SERVICE_BIT;
	if (capset_self(caps) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE_BIT, 0, 0))
		return -1;
	return prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
}

static struct worker workers[] = {
	{ .what = "setresuid thread", .change = own_uids },
	{ .what = "setfsuid thread", .change = own_fsuid },
	{ .what = "setgroups thread", .change = own_groups },
	{ .what = "capabilities thread", .change = own_caps },
	{ .what = "no_new_privs thread", .change = own_no_new_privs },
	{ .what = "securebits thread", .change = own_securebits },
	{ .what = "parent-death signal thread", .change = own_pdeath_signal },
	{ .what = "main's parent-death signal thread", .change = pdeath_signal_as_main },
};
#define NR_WORKERS (sizeof(workers) / sizeof(workers[0]))

static const char *const status_keys[] = { "Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:",
					   "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:" };

/* What the calling thread (@tid) sees of its own credentials. */
static int read_own(pid_t tid, struct creds_seen *seen)
{
	char path[64], line[256];
	size_t used = 0;
	FILE *f;

	memset(seen, 0, sizeof(*seen));
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		for (size_t i = 0; i < sizeof(status_keys) / sizeof(status_keys[0]); i++) {
			size_t len = strlen(line);

			if (strncmp(line, status_keys[i], strlen(status_keys[i])) ||
			    used + len >= sizeof(seen->status))
				continue;
			memcpy(seen->status + used, line, len + 1);
			used += len;
		}
	}
	fclose(f);
	seen->securebits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	seen->nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	if (prctl(PR_GET_PDEATHSIG, &seen->pdeath, 0, 0, 0))
		return -1;
	return capget_self(seen->caps);
}

/* "" when @now is @before, else what differs, in @out. */
static void compare(const struct creds_seen *before, const struct creds_seen *now, char *out,
		    size_t size)
{
	out[0] = '\0';
	if (strcmp(before->status, now->status)) {
		const char *a = now->status, *b = before->status;

		/* The first line that differs. */
		while (strchr(a, '\n') && !strncmp(a, b, (size_t)(strchr(a, '\n') - a + 1))) {
			a = strchr(a, '\n') + 1;
			b = strchr(b, '\n') + 1;
		}
		snprintf(out, size, "status now \"%.*s\", was \"%.*s\"", (int)strcspn(a, "\n"),
			 a, (int)strcspn(b, "\n"), b);
	}
	else if (memcmp(before->caps, now->caps, sizeof(now->caps)))
		snprintf(out, size, "capget: effective %#x permitted %#x inheritable %#x, were "
			 "%#x %#x %#x", now->caps[0].effective, now->caps[0].permitted,
			 now->caps[0].inheritable, before->caps[0].effective,
			 before->caps[0].permitted, before->caps[0].inheritable);
	else if (before->securebits != now->securebits || before->nnp != now->nnp)
		snprintf(out, size, "securebits %#x no_new_privs %d, were %#x %d", now->securebits,
			 now->nnp, before->securebits, before->nnp);
	else if (before->pdeath != now->pdeath)
		snprintf(out, size, "parent-death signal %d, was %d", now->pdeath, before->pdeath);
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	struct creds_seen now;

	w->tid = (pid_t)syscall(SYS_gettid);
	if (w->change() || read_own(w->tid, &w->before)) {
		atomic_store(&w->ready, -1);
		return NULL;
	}
	atomic_store(&w->ready, 1);
	while (!atomic_load(&go))
		syscall(SYS_futex, &go, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	if (read_own(w->tid, &now))
		snprintf(w->verdict, sizeof(w->verdict), "cannot read its own credentials: %m");
	else
		compare(&w->before, &now, w->verdict, sizeof(w->verdict));
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t threads[NR_WORKERS];
	struct creds_seen main_before, main_now;
	char why[512];

	prog_init(argc, argv);
	if (prctl(PR_SET_PDEATHSIG, SIGWINCH, 0, 0, 0) ||
	    read_own((pid_t)syscall(SYS_gettid), &main_before))
		return 1;
	for (size_t i = 0; i < NR_WORKERS; i++) {
		if (pthread_create(&threads[i], NULL, run_worker, &workers[i]))
			return 1;
		while (!atomic_load(&workers[i].ready))
			usleep(1000);
		if (atomic_load(&workers[i].ready) < 0) {
			fprintf(stderr, "%s could not change its credentials\n", workers[i].what);
			return 1;
		}
	}
	prog_ready();
	prog_wait_sigterm();
	atomic_store(&go, 1);
	syscall(SYS_futex, &go, FUTEX_WAKE_PRIVATE, NR_WORKERS, NULL, NULL, 0);
	for (size_t i = 0; i < NR_WORKERS; i++) {
		pthread_join(threads[i], NULL);
		PROG_CHECK(!workers[i].verdict[0], "%s (tid %d): %s", workers[i].what,
			   workers[i].tid, workers[i].verdict);
	}
	PROG_CHECK(!read_own((pid_t)syscall(SYS_gettid), &main_now), "main thread: %m");
	compare(&main_before, &main_now, why, sizeof(why));
	PROG_CHECK(!why[0], "main thread: %s", why);
	PROG_CHECK(getuid() == 0 && geteuid() == 0, "main thread: uid %u euid %u", getuid(),
		   geteuid());
	prog_finish();
}
