/* Programs nobody here wrote, started as a user would, dumped, killed,
 * restored and seen working on: a shell pipeline (sh, its subshell, sleep
 * processes coming and going, cat) and python3 with threads. Each prints a
 * counter that must go on from where it was, with no number lost or
 * repeated, through two dumps and restores. cryo runs through
 * cryo_driver.c, which makes this runner a subreaper: it reaps what it
 * starts and what the dumps leave behind. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "runner_util.h"

struct real {
	char dir[64];
	char out[128];
	pid_t pid;
};

static const char *const pipeline[] = {
	"sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.01; done | cat", NULL
};

static const char *const python_threads[] = {
	"python3", "-c",
	"import sys, threading, time\n"
	"lock = threading.Lock()\n"
	"n = 0\n"
	"def work():\n"
	"    global n\n"
	"    while True:\n"
	"        with lock:\n"
	"            n += 1\n"
	"            sys.stdout.write('%d\\n' % n)\n"
	"            sys.stdout.flush()\n"
	"        time.sleep(0.003)\n"
	"for _ in range(4):\n"
	"    threading.Thread(target=work, daemon=True).start()\n"
	"threading.Event().wait()\n",
	NULL
};

/* The last number of the output, checking that it counts 1, 2, 3, ...;
 * -1 (and why) when it does not. */
static long last_count(const struct real *r)
{
	FILE *f = fopen(r->out, "r");
	long expect = 1, n;
	char line[64];

	/* Not yet made by the program's child. */
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		/* The last line may be half written. */
		if (!strchr(line, '\n'))
			break;
		n = strtol(line, NULL, 10);
		if (n != expect) {
			snprintf(why, sizeof(why), "line %ld of the output is %ld", expect, n);
			fclose(f);
			return -1;
		}
		expect++;
	}
	fclose(f);
	return expect - 1;
}

/* Waits until the count passes @above. */
static bool counts_past(const struct real *r, long above)
{
	long deadline = now_ms() + WAIT_MS, n = 0;

	while (now_ms() < deadline) {
		n = last_count(r);
		if (n < 0)
			return false;
		if (n > above + 20)
			return true;
		sleep_ms(10);
	}
	snprintf(why, sizeof(why), "the count stopped at %ld (after %ld)", n, above);
	return false;
}

static bool start(struct real *r, const char *const *argv)
{
	snprintf(r->dir, sizeof(r->dir), "/tmp/cryo-real-XXXXXX");
	if (!mkdtemp(r->dir))
		return false;
	snprintf(r->out, sizeof(r->out), "%s/out", r->dir);
	r->pid = fork();
	if (r->pid == 0) {
		int in = open("/dev/null", O_RDONLY), out = open(r->out, O_WRONLY | O_CREAT, 0644);

		/* A session of its own, as a daemon would have: no terminal. */
		setsid();
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		close(in);
		close(out);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return r->pid > 0 && counts_past(r, 0);
}

/* Dumps (which kills the tree), restores detached, and checks it counts on. */
static bool cycle(struct real *r, int n)
{
	char img[128], log[160], pid[16], pidfile[160];
	struct cryo_run run;
	long before;
	FILE *f;

	snprintf(img, sizeof(img), "%s/img%d", r->dir, n);
	snprintf(pid, sizeof(pid), "%d", r->pid);
	snprintf(log, sizeof(log), "%s/dump%d.log", r->dir, n);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", r->dir);
	run_cryo(&run, "dump", "-t", pid, "-D", img, "-o", log, "-v4");
	if (run.status) {
		snprintf(why, sizeof(why), "dump %d failed (%d, see %s): %.2000s", n, run.status, log,
			 run.out);
		return false;
	}
	if (!reap_all_children(WAIT_MS)) {
		snprintf(why, sizeof(why), "the dumped tree still runs");
		return false;
	}
	before = last_count(r);
	if (before < 0)
		return false;
	snprintf(log, sizeof(log), "%s/restore%d.log", r->dir, n);
	run_cryo(&run, "restore", "-D", img, "-d", "--pidfile", pidfile, "-o", log, "-v4");
	if (run.status) {
		snprintf(why, sizeof(why), "restore %d failed (%d, see %s): %.2000s", n, run.status,
			 log, run.out);
		return false;
	}
	f = fopen(pidfile, "r");
	if (!f || fscanf(f, "%d", &r->pid) != 1) {
		snprintf(why, sizeof(why), "restore %d wrote no pid file", n);
		if (f)
			fclose(f);
		return false;
	}
	fclose(f);
	/* Nothing moved while it was not running. */
	if (last_count(r) < before) {
		snprintf(why, sizeof(why), "the output shrank after restore %d", n);
		return false;
	}
	return counts_past(r, before);
}

static bool run_real(const char *const *argv)
{
	struct real r = { .pid = -1 };
	bool ok = start(&r, argv) && cycle(&r, 1) && cycle(&r, 2);

	end_all_children();
	if (ok)
		remove_tree(r.dir);
	else
		fprintf(stderr, "    kept %s for a look\n", r.dir);
	return ok;
}

TEST(shell_pipeline_counts_on_after_two_restores)
{
	CHECK(run_real(pipeline), "sh | cat: %s", why);
}

TEST(python_threads_count_on_after_two_restores)
{
	CHECK(run_real(python_threads), "python3 with 4 threads: %s", why);
}
