/* Everyday use of cryo (issue 19): a dump restored at once while the
 * dumped process's parent has not reaped it yet, by a slow parent and by
 * this machine's init; the message that says what holds a pid; a dump
 * that returns only once what it killed is dead; the progress line on a
 * terminal (through script(1)) and its absence without one or with -q;
 * --display-stats/--stats-file against a program of known size; and a
 * tree forked from a cryo whose heap is in huge pages. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "image_util.h"
#include "runner_util.h"

/* What prog_known_pages holds (see it). */
#define KNOWN_FILLED_PAGES 4096
#define KNOWN_ZEROED_PAGES 1024
/* Its other anonymous pages: stack, heap, libc's data. */
#define KNOWN_OTHER_PAGES_MAX 128

/* The state letter and parent of @pid; 0 when it is gone. */
static char pid_state(pid_t pid, pid_t *ppid)
{
	char path[64], text[512], *after;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!read_text(path, text, sizeof(text)) || !(after = strrchr(text, ')')))
		return 0;
	if (ppid && sscanf(after, ") %*c %d", ppid) != 1)
		*ppid = 0;
	return after[2];
}

/* Waits until @pid is a zombie (not reaped, by design). */
static bool becomes_zombie(pid_t pid)
{
	long deadline = now_ms() + WAIT_MS;

	while (pid_state(pid, NULL) != 'Z' && now_ms() < deadline)
		sleep_ms(1);
	return pid_state(pid, NULL) == 'Z' ? true :
	       fail_why("pid %d did not become a zombie (state %c)", pid, pid_state(pid, NULL));
}

/* Ends a program that is not our child (init's): SIGTERM, then its verdict
 * once it is gone (or a zombie). */
static bool orphan_passes(struct prog *p)
{
	char outfile[PATH_MAX], line[600] = "";
	long deadline = now_ms() + WAIT_MS;
	char state;

	pathf(outfile, "%s/out", p->dir);
	kill(p->pid, SIGTERM);
	while ((state = pid_state(p->pid, NULL)) && state != 'Z' && now_ms() < deadline)
		sleep_ms(2);
	if (state && state != 'Z')
		return fail_why("pid %d did not end after SIGTERM", p->pid);
	p->pid = 0;
	read_text(outfile, line, sizeof(line));
	line[strcspn(line, "\n")] = '\0';
	return strcmp(line, "PASS") ? fail_why("the program says: %s", line[0] ? line :
					       "(no verdict)") : true;
}

/* Restores @img with -d and checks that @pid came back. */
static bool restored_as(struct prog *p, const char *img, pid_t pid, const char *pid_wait)
{
	char pidfile[PATH_MAX], text[32] = "";
	struct cryo_run r;

	pathf(pidfile, "%s/restored.pid", p->dir);
	unlink(pidfile);
	prog_cryo(&r, p, "restore", "-D", img, "-d", "--pidfile", pidfile, "--pid-wait", pid_wait);
	if (r.status)
		return fail_why("restore failed (%d): %s", r.status, r.out);
	read_text(pidfile, text, sizeof(text));
	if (atoi(text) != pid)
		return fail_why("restored as pid '%s', not %d", text, pid);
	p->pid = pid;
	return true;
}

/* A setsid process whose parent has exited is adopted by this runner (a
 * subreaper), which reaps it only a while after each dump killed it: every
 * restore starts while a zombie holds the pid and must wait for it. */
TEST(dump_then_restore_at_once_100_times_while_the_parent_reaps_late)
{
	char img[PATH_MAX], pid[16], pidfile[PATH_MAX], log[PATH_MAX], text[32];
	struct prog p = { 0 };
	pid_t image_pid;
	char out_path[PATH_MAX], said[2048] = "";
	int out_fd = -1;

	CHECK_GOTO(start_orphan(&p, "prog_counter"), out, "%s", why);
	image_pid = p.pid;
	pathf(img, "%s/img", p.dir);
	pathf(pidfile, "%s/restored.pid", p.dir);
	/* What each restore said, kept outside the images it replaces. */
	pathf(out_path, "%s/restore.out", p.dir);
	snprintf(pid, sizeof(pid), "%d", image_pid);
	for (int round = 0; round < 100; round++) {
		struct cryo_run r;
		pid_t restorer;
		int status;

		remove_temp_dir(img);
		CHECK_GOTO(prog_dump(&p, img, NULL), out, "round %d: %s", round, why);
		CHECK_GOTO(pid_state(image_pid, NULL) == 'Z', out,
			   "round %d: cryo dump returned before pid %d was dead (state %c)", round,
			   image_pid, pid_state(image_pid, NULL));
		unlink(pidfile);
		if (out_fd >= 0)
			close(out_fd);
		out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		restorer = cryo_spawn(out_fd, &(struct cryo_call){
			.args = CRYO_ARGS("restore", "-D", img, "-d", "--pidfile", pidfile, "-o",
					  "restore.log", "-v3"),
			.program = p.program,
		});
		CHECK_GOTO(restorer > 0, out, "fork: %s", strerror(errno));
		/* The slow parent reaps the dumped process now. */
		sleep_ms(20);
		CHECK_GOTO(waitpid(image_pid, NULL, 0) == image_pid, out, "round %d: cannot reap %d",
			   round, image_pid);
		CHECK_GOTO(wait_child(restorer, CRYO_MS, &status), out, "round %d: restore hung",
			   round);
		r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		pathf(log, "%s/restore.log", img);
		if (r.status)
			read_text(out_path, said, sizeof(said));
		CHECK_GOTO(r.status == 0, out, "round %d: restore failed (%d): %s", round, r.status,
			   said);
		text[0] = '\0';
		read_text(pidfile, text, sizeof(text));
		CHECK_GOTO(atoi(text) == image_pid, out, "round %d: restored as '%s'", round, text);
	}
	p.pid = image_pid;
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	if (out_fd >= 0)
		close(out_fd);
	end_prog(&p);
}

/* The same with this machine's init as the parent, which reaps about two
 * seconds late here: so a few rounds only. */
TEST(dump_then_restore_at_once_of_a_child_of_init)
{
	char img[PATH_MAX];
	struct prog p = { 0 };
	pid_t image_pid, ppid = 0;

	/* Orphans must go to init, not to this runner. */
	CHECK(prctl(PR_SET_CHILD_SUBREAPER, 0) == 0, "prctl: %s", strerror(errno));
	CHECK_GOTO(start_orphan(&p, "prog_counter"), out, "%s", why);
	image_pid = p.pid;
	pid_state(image_pid, &ppid);
	CHECK_GOTO(ppid == 1, out, "the program's parent is %d, not init", ppid);
	pathf(img, "%s/img", p.dir);
	for (int round = 0; round < 3; round++) {
		remove_temp_dir(img);
		CHECK_GOTO(prog_dump(&p, img, NULL), out, "round %d: %s", round, why);
		CHECK_GOTO(pid_state(image_pid, &ppid) == 'Z' && ppid == 1, out,
			   "round %d: after the dump pid %d is not a zombie of init", round,
			   image_pid);
		/* Bounded well above init's delay: the default is for people. */
		CHECK_GOTO(restored_as(&p, img, image_pid, "30"), out, "round %d: %s", round, why);
	}
	CHECK_GOTO(orphan_passes(&p), out, "%s", why);
out:
	if (p.pid > 0)
		kill(p.pid, SIGKILL);
	p.pid = 0;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	end_prog(&p);
}

/* A zombie nobody reaps holds the pid: restore waits --pid-wait, then
 * fails naming the zombie and its parent (this runner), and leaves
 * nothing; once reaped, the restore works. */
TEST(restore_names_the_zombie_that_holds_its_pid_and_the_zombies_parent)
{
	char img[PATH_MAX], pid[16], expect[128];
	struct prog p = { 0 };
	struct cryo_run r;
	long began;
	pid_t image_pid;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	image_pid = p.pid;
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img, "-R");
	CHECK_GOTO(r.status == 0, out, "dump -R failed (%d): %s", r.status, r.out);
	kill(image_pid, SIGKILL);
	CHECK_GOTO(becomes_zombie(image_pid), out, "%s", why);
	began = now_ms();
	prog_cryo(&r, &p, "restore", "-D", img, "-d", "--pid-wait", "0.3");
	snprintf(expect, sizeof(expect), "pid %d is taken by a zombie (prog_counter) that its "
		 "parent, pid %d, has not reaped within 0.3 s", image_pid, getpid());
	CHECK_GOTO(refused(&r, expect, NULL), out, "%s", why);
	CHECK_GOTO(now_ms() - began >= 300, out, "the restore gave up after %ld ms, before its "
		   "--pid-wait of 300 ms", now_ms() - began);
	CHECK_GOTO(pid_state(image_pid, NULL) == 'Z', out, "the zombie was touched");
	CHECK_GOTO(waitpid(image_pid, NULL, 0) == image_pid, out, "cannot reap %d", image_pid);
	p.pid = 0;
	CHECK_GOTO(restored_as(&p, img, image_pid, "5"), out, "%s", why);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* The pids of @root and every descendant, from /proc. */
static size_t tree_of(pid_t root, pid_t *pids, size_t max)
{
	size_t n = 0;

	pids[n++] = root;
	for (size_t i = 0; i < n; i++) {
		char path[64], text[4096];
		char *at, *end;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pids[i], pids[i]);
		if (!read_text(path, text, sizeof(text)))
			continue;
		for (at = text; n < max; at = end) {
			long child = strtol(at, &end, 10);

			if (end == at)
				break;
			pids[n++] = (pid_t)child;
		}
	}
	return n;
}

/* The processes a dump kills are dead when cryo dump returns (zombies,
 * since this runner, their subreaper, reaps none of them yet): the 50 of
 * prog_tree, and one with 256 MiB to free, which takes the kernel a while. */
static void dump_returns_once_dead(const char *name, size_t at_least)
{
	char img[PATH_MAX], pid[16];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t pids[128];
	size_t n;

	CHECK_GOTO(start_prog(&p, name, NULL, NULL), out, "%s", why);
	n = tree_of(p.pid, pids, 128);
	CHECK_GOTO(n >= at_least, out, "%s shows only %zu processes", name, n);
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	for (size_t i = 0; i < n; i++) {
		char state = pid_state(pids[i], NULL);

		CHECK_GOTO(!state || state == 'Z' || state == 'X', out,
			   "pid %d of the dumped tree is in state %c after cryo dump returned",
			   pids[i], state);
	}
	p.pid = 0;
out:
	end_prog(&p);
}

TEST(dump_returns_once_every_process_it_killed_is_dead)
{
	dump_returns_once_dead("prog_tree", 30);
	dump_returns_once_dead("neg_big_memory", 1);
}

/* A large tree is forked from a cryo whose heap is in huge pages (restore.c
 * collapses it from 32 processes when it holds a 2 MiB page): CRYO_TEST_HUGE_HEAP
 * grows prog_tree's 1.6 MiB heap to hold some, and forces the collapse. Each
 * process then writes into a shared huge page (split on its first write) and
 * its restorer unmaps it: the tree must come back whole all the same. */
TEST(a_tree_forked_from_a_heap_in_huge_pages_comes_back_whole)
{
	struct prog p = { 0 };
	char img[PATH_MAX];
	pid_t image_pid;
	struct cryo_run r;

	CHECK_GOTO(make_image(&p, "prog_tree", img, &image_pid), out, "%s", why);
	/* The tree's other processes, killed by the dump, came back to us. */
	CHECK_GOTO(reap_all_children(WAIT_MS), out, "the dumped tree's processes stay");
	setenv("CRYO_TEST_HUGE_HEAP", "1", 1);
	prog_cryo(&r, &p, "restore", "-D", img, "-d", "-v4");
	unsetenv("CRYO_TEST_HUGE_HEAP");
	CHECK_GOTO(r.status == 0, out, "restore failed (%d): %s", r.status, r.out);
	p.pid = image_pid;
	CHECK_GOTO(strstr(r.out, "put in huge pages before the tree is forked"), out,
		   "the heap was not put in huge pages: %s", r.out);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	unsetenv("CRYO_TEST_HUGE_HEAP");
	end_prog(&p);
}

/* Runs cryo with @args under script(1), on a pty of its own; what the
 * terminal showed is in @r->out. */
#define on_a_terminal(r, p, ...) \
	cryo_call(r, &(struct cryo_call){ .args = CRYO_ARGS(__VA_ARGS__), \
					  .program = (p)->program, \
					  .on_terminal = true })

/* The progress line: drawn with a carriage return and an erase to the end
 * of the line, with the stage, processes done of all, bytes and a rate. */
static bool shows_progress(const char *text, const char *journey, const char *final)
{
	char head[32];

	snprintf(head, sizeof(head), "\rcryo %s: ", journey);
	if (!strstr(text, head) || !strstr(text, "/s\033[K"))
		return fail_why("no progress line of %s on the terminal: '%s'", journey, text);
	if (!strstr(text, final))
		return fail_why("the last progress line of %s lacks '%s': '%s'", journey, final,
				text);
	return true;
}

TEST(progress_line_on_a_terminal_for_dump_and_restore)
{
	char img[PATH_MAX], pid[16];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid;

	/* In a session of its own, which restore makes again under script. */
	CHECK_GOTO(start_orphan(&p, "neg_big_memory"), out, "%s", why);
	image_pid = p.pid;
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	on_a_terminal(&r, &p, "dump", "-t", pid, "-D", img);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	CHECK_GOTO(shows_progress(r.out, "dump", "1/1 processes"), out, "%s", why);
	/* 256 MiB of data: the estimate and the count both say so. */
	CHECK_GOTO(strstr(r.out, "MiB of ~2"), out, "the dump's progress does not count its 256 "
		   "MiB: '%s'", r.out);
	CHECK_GOTO(waitpid(image_pid, NULL, 0) == image_pid, out, "cannot reap %d", image_pid);
	p.pid = 0;
	on_a_terminal(&r, &p, "restore", "-D", img, "-d");
	CHECK_GOTO(r.status == 0, out, "restore failed (%d): %s", r.status, r.out);
	p.pid = image_pid;
	CHECK_GOTO(shows_progress(r.out, "restore", "1/1 processes"), out, "%s", why);
	CHECK_GOTO(strstr(r.out, "MiB of 2"), out, "the restore's progress does not count its "
		   "256 MiB: '%s'", r.out);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

TEST(no_progress_line_without_a_terminal_or_with_quiet)
{
	char img[PATH_MAX], pid[16];
	struct prog p = { 0 };
	struct cryo_run r;

	CHECK_GOTO(start_prog(&p, "prog_counter", NULL, NULL), out, "%s", why);
	pathf(img, "%s/img1", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img, "-R", "-v2");
	CHECK_GOTO(r.status == 0, out, "dump -R failed (%d): %s", r.status, r.out);
	CHECK_GOTO(!strchr(r.out, '\r') && !strstr(r.out, "processes"), out,
		   "a progress line without a terminal: '%s'", r.out);
	/* The same on a terminal draws it; with -q it does not. */
	pathf(img, "%s/img2", p.dir);
	on_a_terminal(&r, &p, "dump", "-t", pid, "-D", img, "-R");
	CHECK_GOTO(r.status == 0, out, "dump -R failed (%d): %s", r.status, r.out);
	CHECK_GOTO(shows_progress(r.out, "dump", "1/1 processes"), out, "%s", why);
	pathf(img, "%s/img3", p.dir);
	on_a_terminal(&r, &p, "dump", "-q", "-t", pid, "-D", img, "-R");
	CHECK_GOTO(r.status == 0, out, "dump -q -R failed (%d): %s", r.status, r.out);
	CHECK_GOTO(!strstr(r.out, "\rcryo dump: ") && !strstr(r.out, "processes"), out,
		   "a progress line with -q: '%s'", r.out);
	CHECK_GOTO(prog_unharmed(&p) && prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}

/* The value of "@key": N in the JSON object @json; false if absent. */
static bool json_number(const char *json, const char *key, unsigned long long *value)
{
	char quoted[64];
	const char *at;

	snprintf(quoted, sizeof(quoted), "\"%s\": ", key);
	at = strstr(json, quoted);
	if (!at)
		return fail_why("no %s in %s", key, json);
	*value = strtoull(at + strlen(quoted), NULL, 10);
	return true;
}

TEST(stats_count_the_pages_of_a_program_of_known_size)
{
	char img[PATH_MAX], pid[16], file[PATH_MAX], json[4096];
	unsigned long long scanned, zero, written, bytes, total, frozen, restored, restored_bytes;
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid;

	CHECK_GOTO(start_prog(&p, "prog_known_pages", NULL, NULL), out, "%s", why);
	image_pid = p.pid;
	pathf(img, "%s/img", p.dir);
	pathf(file, "%s/dump.json", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img, "--display-stats", "--stats-file", file);
	CHECK_GOTO(r.status == 0, out, "dump failed (%d): %s", r.status, r.out);
	CHECK_GOTO(wait_child(image_pid, WAIT_MS, NULL), out, "the program runs after its dump");
	p.pid = 0;
	/* The text, for people: every stage and count is named. */
	for (const char *key = "freezing\0parasite\0files\0memory\0writing\0frozen\0pages scanned\0"
			       "pages zero\0pages written\0bytes written\0";
	     *key; key += strlen(key) + 1)
		CHECK_GOTO(strstr(r.out, key), out, "--display-stats does not show '%s': %s", key,
			   r.out);
	CHECK_GOTO(read_text(file, json, sizeof(json)), out, "no stats file %s", file);
	CHECK_GOTO(json_number(json, "pages_scanned", &scanned) &&
			   json_number(json, "pages_zero", &zero) &&
			   json_number(json, "pages_written", &written) &&
			   json_number(json, "bytes_written", &bytes) &&
			   json_number(json, "total_us", &total) &&
			   json_number(json, "frozen_us", &frozen),
		   out, "%s", why);
	CHECK_GOTO(zero == KNOWN_ZEROED_PAGES, out, "%llu pages found zero, the program zeroed %d",
		   zero, KNOWN_ZEROED_PAGES);
	CHECK_GOTO(written >= KNOWN_FILLED_PAGES &&
			   written <= KNOWN_FILLED_PAGES + KNOWN_OTHER_PAGES_MAX,
		   out, "%llu pages written, the program filled %d", written, KNOWN_FILLED_PAGES);
	CHECK_GOTO(bytes == written * 4096, out, "%llu bytes written for %llu pages", bytes,
		   written);
	CHECK_GOTO(scanned == written + zero, out, "%llu pages scanned, %llu written, %llu zero",
		   scanned, written, zero);
	CHECK_GOTO(frozen > 0 && frozen <= total, out, "frozen %llu us of a dump of %llu us",
		   frozen, total);

	pathf(file, "%s/restore.json", p.dir);
	prog_cryo(&r, &p, "restore", "-D", img, "-d", "--stats-file", file);
	CHECK_GOTO(r.status == 0, out, "restore failed (%d): %s", r.status, r.out);
	p.pid = image_pid;
	CHECK_GOTO(read_text(file, json, sizeof(json)), out, "no stats file %s", file);
	CHECK_GOTO(json_number(json, "pages_restored", &restored) &&
			   json_number(json, "bytes_restored", &restored_bytes) &&
			   json_number(json, "creating", &total),
		   out, "%s", why);
	CHECK_GOTO(restored == written && restored_bytes == bytes, out, "restored %llu pages "
		   "(%llu bytes), the dump wrote %llu (%llu)", restored, restored_bytes, written,
		   bytes);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
}
