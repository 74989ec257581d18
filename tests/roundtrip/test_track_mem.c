/* Write tracking across dumps (--track-mem, mem/track.h) through the cryo
 * binary: after a pre-dump, the dump reads only the pages written since
 * (counted in its log) and every page comes back right (prog_track_mem:
 * pages written, zapped, moved, mapped anew, a new mapping, a forked
 * child); a chain of two pre-dumps; a holder killed in between (the dump
 * falls back to digests and says so); and the holder gone once its set is
 * taken, once its process exits, or after its bound. Untracked pre-dumps
 * and chains are test_predump's. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "runner_util.h"

/* The program's area; what phase 1 and 2 write, moved and mapped anew
 * count far below it. */
#define AREA_PAGES 2048
/* Pages the parent process may read after a tracked pre-dump: those
 * written (16 + 8 anew + 16 new mapping + 32 moved + 16 in phase 2, and
 * page 500), its stack, libc's and ld.so's written data, the vDSO. */
#define READ_MAX 400
/* How long a holder may take to notice its end. */
#define HOLDER_END_MS 8000

static char log_text[1 << 19];

/* cryo @cmd (pre-dump or dump) of @p into @p->dir/@name with
 * --track-mem, with --prev-images-dir @parent unless NULL, its info log
 * into log_text. */
static bool dump_into(struct prog *p, const char *cmd, const char *name, const char *parent)
{
	char img[PATH_MAX], log[PATH_MAX], pid_text[16];
	struct cryo_run r;

	pathf(img, "%s/%s", p->dir, name);
	pathf(log, "%s/%s.log", p->dir, name);
	snprintf(pid_text, sizeof(pid_text), "%d", p->pid);
	unlink(log);
	if (parent)
		prog_cryo(&r, p, cmd, "-t", pid_text, "-D", img, "--track-mem", "-v3", "-o", log,
			  "--prev-images-dir", parent);
	else
		prog_cryo(&r, p, cmd, "-t", pid_text, "-D", img, "--track-mem", "-v3", "-o", log);
	if (!read_text(log, log_text, sizeof(log_text)))
		log_text[0] = '\0';
	if (r.status)
		return fail_why("%s into %s failed (%d): %s", cmd, img, r.status, r.out);
	return true;
}

/* The number after @key in the log line of pid @pid holding @key. */
static bool logged_number(pid_t pid, const char *key, unsigned long long *n)
{
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "pid %d: ", pid);
	for (const char *at = log_text; (at = strstr(at, prefix)); at++) {
		const char *eol = strchr(at, '\n'), *k = strstr(at, key);

		if (k && (!eol || k < eol)) {
			/* The number ends just before @key. */
			while (k > at && k[-1] == ' ')
				k--;
			while (k > at && k[-1] >= '0' && k[-1] <= '9')
				k--;
			*n = strtoull(k, NULL, 10);
			return true;
		}
	}
	return fail_why("no \"%s\" for pid %d in the log:\n%.2000s", key, pid, log_text);
}

/* The holder's pid, from the log of the (pre-)dump that armed it. */
static bool holder_of_log(pid_t *holder)
{
	const char *at = strstr(log_text, "held by pid ");

	if (!at)
		return fail_why("no holder in the log:\n%.2000s", log_text);
	*holder = (pid_t)atoi(at + strlen("held by pid "));
	return *holder > 0 ? true : fail_why("bad holder pid in the log");
}

/* The holder (the runner's child: it is a subreaper) has exited, and its
 * socket is gone from @set. */
static bool holder_gone(pid_t holder, const char *dir, const char *set)
{
	char path[PATH_MAX];
	int status;

	if (!wait_child(holder, HOLDER_END_MS, &status))
		return fail_why("the holder, pid %d, is still there after %d ms", holder,
				HOLDER_END_MS);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return fail_why("the holder, pid %d, ended with status %#x", holder, status);
	pathf(path, "%s/%s/track-mem.sock", dir, set);
	if (!access(path, F_OK))
		return fail_why("%s is still there", path);
	return true;
}

/* What the dump of @pid read, and left unread, are what tracking makes
 * them: few pages read, most of the area unread. */
static bool read_little(pid_t pid)
{
	unsigned long long read = 0, unread = 0;

	if (!logged_number(pid, "pages read", &read) ||
	    !logged_number(pid, "of them unread", &unread))
		return false;
	if (read > READ_MAX || unread < AREA_PAGES - 100)
		return fail_why("pid %d: %llu pages read, %llu unread", pid, read, unread);
	return true;
}

/* The dump (which ends the program) restores, and the program, back at
 * @pid, passes. The dumped processes are reaped (the runner is their
 * subreaper), the holder @keep is not. */
static bool dump_restores(struct prog *p, pid_t pid, const char *parent, pid_t keep)
{
	char img[PATH_MAX];
	struct cryo_run r;

	if (!dump_into(p, "dump", "img", parent))
		return false;
	waitpid(p->pid, NULL, 0);
	end_children(keep, NULL, 0);
	pathf(img, "%s/img", p->dir);
	prog_cryo(&r, p, "restore", "-D", img, "-d");
	if (r.status)
		return fail_why("restore of %s failed (%d): %s", img, r.status, r.out);
	p->pid = pid;
	return true;
}

TEST(a_dump_after_a_tracked_pre_dump_reads_only_written_pages)
{
	struct prog p = { 0 };
	pid_t pid, holder = 0;

	CHECK_GOTO(start_prog(&p, "prog_track_mem", NULL, NULL), out, "%s", why);
	pid = p.pid;
	CHECK_GOTO(dump_into(&p, "pre-dump", "pre", NULL) && holder_of_log(&holder), out, "%s",
		   why);
	CHECK_GOTO(prog_next_phase(&p, 1), out, "%s", why);
	CHECK_GOTO(dump_restores(&p, pid, "../pre", holder), out, "%s", why);
	CHECK_GOTO(strstr(log_text, "taken from its holder"), out,
		   "the dump took no tracker:\n%.2000s", log_text);
	CHECK_GOTO(read_little(pid), out, "%s", why);
	CHECK_GOTO(holder_gone(holder, p.dir, "pre"), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

TEST(a_chain_of_tracked_pre_dumps_reads_only_what_each_missed)
{
	struct prog p = { 0 };
	pid_t pid, holder1 = 0, holder2 = 0;

	CHECK_GOTO(start_prog(&p, "prog_track_mem", NULL, NULL), out, "%s", why);
	pid = p.pid;
	CHECK_GOTO(dump_into(&p, "pre-dump", "pre1", NULL) && holder_of_log(&holder1), out, "%s",
		   why);
	CHECK_GOTO(prog_next_phase(&p, 1), out, "%s", why);
	CHECK_GOTO(dump_into(&p, "pre-dump", "pre2", "../pre1") && holder_of_log(&holder2), out,
		   "%s", why);
	CHECK_GOTO(read_little(pid), out, "%s", why);
	CHECK_GOTO(holder_gone(holder1, p.dir, "pre1"), out, "%s", why);
	CHECK_GOTO(prog_next_phase(&p, 2), out, "%s", why);
	CHECK_GOTO(dump_restores(&p, pid, "../pre2", holder2), out, "%s", why);
	CHECK_GOTO(read_little(pid), out, "%s", why);
	CHECK_GOTO(holder_gone(holder2, p.dir, "pre2"), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* A -R dump with --track-mem arms as a pre-dump does (its pre-copy left
 * out), and the dump after it reads only what was written since. */
TEST(a_leave_running_dump_with_track_mem_arms_for_the_next)
{
	char img[PATH_MAX], log[PATH_MAX], pid_text[16];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t pid, holder = 0;

	CHECK_GOTO(start_prog(&p, "prog_track_mem", NULL, NULL), out, "%s", why);
	pid = p.pid;
	pathf(img, "%s/first", p.dir);
	pathf(log, "%s/first.log", p.dir);
	snprintf(pid_text, sizeof(pid_text), "%d", pid);
	prog_cryo(&r, &p, "dump", "-t", pid_text, "-D", img, "-R", "--track-mem", "-v3", "-o",
		  log);
	CHECK_GOTO(!r.status, out, "dump -R failed (%d): %s", r.status, r.out);
	CHECK_GOTO(read_text(log, log_text, sizeof(log_text)) && holder_of_log(&holder), out,
		   "%s", why);
	CHECK_GOTO(!strstr(log_text, "pre-copy:"), out, "dump -R --track-mem pre-copied");
	CHECK_GOTO(prog_next_phase(&p, 1), out, "%s", why);
	CHECK_GOTO(dump_restores(&p, pid, "../first", holder), out, "%s", why);
	CHECK_GOTO(read_little(pid), out, "%s", why);
	CHECK_GOTO(holder_gone(holder, p.dir, "first"), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

TEST(a_killed_tracker_falls_back_to_digests)
{
	unsigned long long read = 0;
	struct prog p = { 0 };
	pid_t pid, holder = 0;
	int status;

	CHECK_GOTO(start_prog(&p, "prog_track_mem", NULL, NULL), out, "%s", why);
	pid = p.pid;
	CHECK_GOTO(dump_into(&p, "pre-dump", "pre", NULL) && holder_of_log(&holder), out, "%s",
		   why);
	CHECK_GOTO(!kill(holder, SIGKILL) && wait_child(holder, WAIT_MS, &status), out,
		   "cannot kill the holder, pid %d", holder);
	CHECK_GOTO(prog_next_phase(&p, 1), out, "%s", why);
	CHECK_GOTO(dump_restores(&p, pid, "../pre", holder), out, "%s", why);
	CHECK_GOTO(strstr(log_text, "has no write tracker"), out,
		   "the dump did not say it had no tracker:\n%.2000s", log_text);
	CHECK_GOTO(logged_number(pid, "pages read", &read), out, "%s", why);
	CHECK_GOTO(read >= AREA_PAGES - 100, out, "only %llu pages read without a tracker", read);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

TEST(a_holder_ends_with_its_process_and_after_its_bound)
{
	char img[PATH_MAX], pid_text[16];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t holder = 0;
	long began;

	CHECK_GOTO(start_prog(&p, "prog_track_mem", NULL, NULL), out, "%s", why);
	CHECK_GOTO(dump_into(&p, "pre-dump", "pre", NULL) && holder_of_log(&holder), out, "%s",
		   why);
	kill_and_reap(p.pid);
	CHECK_GOTO(holder_gone(holder, p.dir, "pre"), out, "after its process: %s", why);
	end_prog(&p);

	CHECK_GOTO(start_prog(&p, "prog_track_mem", NULL, NULL), out, "%s", why);
	pathf(img, "%s/bound", p.dir);
	snprintf(pid_text, sizeof(pid_text), "%d", p.pid);
	began = now_ms();
	cryo_call(&r, &(struct cryo_call){
			      .args = CRYO_ARGS("pre-dump", "-t", pid_text, "-D", img, "-v3"),
			      .env = (const char *const[]){ "CRYO_TEST_TRACK_HOLD_S=1", NULL } });
	CHECK_GOTO(!r.status, out, "pre-dump failed (%d): %s", r.status, r.out);
	snprintf(log_text, sizeof(log_text), "%s", r.out);
	CHECK_GOTO(holder_of_log(&holder) && holder_gone(holder, p.dir, "bound"), out,
		   "after its bound: %s", why);
	CHECK_GOTO(now_ms() - began >= 1000, out, "the holder ended before its bound");
	CHECK_GOTO(!kill(p.pid, 0), out, "the program is gone: %s", strerror(errno));
out:
	end_prog(&p);
}

