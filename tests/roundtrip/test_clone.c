/* cryo restore --clone, and dumps of clones. Three clones of one image of
 * prog_tree (50 processes, sessions, groups, zombies) run at once beside
 * the original, each process with its saved pid inside its clone's pid
 * namespace (the root's NSpid ends with the saved pid, the pid we see is
 * another), each passing its own checks (cryo restore exits as the root
 * did). The chain: prog_counter dumped, restored as a clone, the clone
 * dumped from outside by the pid we see, restored as a clone, three
 * times over, and still counting. The same for prog_pty, whose ptys each
 * clone gets at their saved indices in a devpts instance of its own, and
 * for prog_uts and prog_timens, whose namespaces each clone makes again. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "runner_util.h"

#define CLONES 3

/* The pid file @path written by cryo restore, read into @pid. */
static bool read_pid_file(const char *path, pid_t *pid)
{
	char text[32] = "";
	long deadline = now_ms() + WAIT_MS;

	while (!read_text(path, text, sizeof(text)) || !atoi(text)) {
		if (now_ms() > deadline)
			return fail_why("cryo wrote no pid file %s", path);
		sleep_ms(10);
	}
	*pid = (pid_t)atoi(text);
	return true;
}

/* The root of a clone: the pid we see differs, its pid inside is @saved. */
static bool is_clone_of(pid_t seen, pid_t saved)
{
	char path[64], status[4096], *line;
	long last = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", seen);
	if (!read_text(path, status, sizeof(status)) || !(line = strstr(status, "\nNSpid:")))
		return fail_why("pid %d: no NSpid in its status", seen);
	line += strlen("\nNSpid:");
	for (char *end;; line = end) {
		long v = strtol(line, &end, 10);

		if (end == line)
			break;
		last = v;
	}
	if (seen == saved || last != saved)
		return fail_why("pid %d: its pid inside is %ld, not the saved %d", seen, last, saved);
	return true;
}

static bool three_clones_of(const char *name)
{
	struct prog p;
	struct cryo_run r;
	char img[PATH_MAX], pid[16], pidfile[CLONES][PATH_MAX];
	pid_t cryo[CLONES] = { 0 }, root[CLONES] = { 0 };
	bool ok;

	if (!start_prog(&p, name, NULL, NULL))
		return false;
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	run_cryo(&r, "dump", "-t", pid, "-D", img, "-R");
	ok = r.status == 0 || fail_why("dump -R failed: %s", r.out);
	for (int i = 0; ok && i < CLONES; i++) {
		pathf(pidfile[i], "%s/clone%d", p.dir, i);
		cryo[i] = cryo_spawn(2, &(struct cryo_call){
			.args = CRYO_ARGS("restore", "--clone", "-D", img, "--pidfile", pidfile[i]) });
		ok = cryo[i] > 0 || fail_why("cannot start cryo restore --clone");
	}
	for (int i = 0; ok && i < CLONES; i++)
		ok = read_pid_file(pidfile[i], &root[i]) && is_clone_of(root[i], p.pid);
	/* cryo restore exits as the root did: 0 when it passed its checks.
	 * One at a time: every clone writes its verdict through the same
	 * temporary file. */
	for (int i = 0; i < CLONES; i++) {
		int status;

		if (root[i] > 0)
			kill(root[i], SIGTERM);
		if (cryo[i] <= 0)
			continue;
		if (!wait_child(cryo[i], WAIT_MS, &status)) {
			kill_and_reap(cryo[i]);
			ok = ok && fail_why("clone %d did not end after SIGTERM", i);
		} else if (ok && (!WIFEXITED(status) || WEXITSTATUS(status))) {
			ok = fail_why("clone %d failed its checks (status %#x)", i, status);
		}
	}
	ok = ok && prog_passes(&p);
	end_prog(&p);
	return ok;
}

static bool chain_of(const char *name)
{
	struct prog p;
	struct cryo_run r;
	char img[PATH_MAX], pidfile[PATH_MAX], pid[16];
	pid_t saved, seen = 0;
	bool ok;

	if (!start_prog(&p, name, NULL, NULL))
		return false;
	saved = p.pid;
	snprintf(pid, sizeof(pid), "%d", p.pid);
	pathf(img, "%s/img0", p.dir);
	run_cryo(&r, "dump", "-t", pid, "-D", img);
	ok = r.status == 0 || fail_why("dump of the original failed: %s", r.out);
	if (ok)
		waitpid(p.pid, NULL, 0);
	for (int n = 1; ok && n <= 3; n++) {
		pathf(pidfile, "%s/clone%d", p.dir, n);
		run_cryo(&r, "restore", "--clone", "-d", "-D", img, "--pidfile", pidfile);
		ok = r.status == 0 || fail_why("restore --clone %d failed: %s", n, r.out);
		ok = ok && read_pid_file(pidfile, &seen) && is_clone_of(seen, saved);
		if (!ok || n == 3)
			break;
		snprintf(pid, sizeof(pid), "%d", seen);
		pathf(img, "%s/img%d", p.dir, n);
		run_cryo(&r, "dump", "-t", pid, "-D", img);
		ok = r.status == 0 || fail_why("dump of clone %d (pid %d) failed: %s", n, seen,
					       r.out);
		seen = 0;
	}
	if (ok) {
		char outfile[PATH_MAX], line[600] = "";
		long deadline = now_ms() + WAIT_MS;

		pathf(outfile, "%s/out", p.dir);
		kill(seen, SIGTERM);
		while (!read_text(outfile, line, sizeof(line)) && now_ms() < deadline)
			sleep_ms(10);
		line[strcspn(line, "\n")] = '\0';
		ok = !strcmp(line, "PASS") || fail_why("the third clone says: %s", line);
	} else if (seen > 0) {
		kill(seen, SIGKILL);
	}
	p.pid = 0;
	end_prog(&p);
	return ok;
}

static bool three_clones_beside_the_original(void)
{
	return three_clones_of("prog_tree");
}

static bool chain_of_clones(void)
{
	return chain_of("prog_counter");
}

/* prog_pty's ptys come back at their saved indices in each clone's own
 * devpts instance while the original holds those indices in the host's. */
static bool three_pty_clones_beside_the_original(void)
{
	return three_clones_of("prog_pty");
}

/* A clone whose ptys are in its own devpts instance is dumped and cloned
 * again, three times. */
static bool chain_of_pty_clones(void)
{
	return chain_of("prog_pty");
}

/* A tree in UTS and time namespaces of its own: each clone makes them
 * again, its names set and its clocks going on from where they were. */
static bool chain_of_uts_clones(void)
{
	return chain_of("prog_uts");
}

static bool chain_of_timens_clones(void)
{
	return chain_of("prog_timens");
}

int main(int argc, char **argv)
{
#define TEST(fn) { #fn, fn }
	static const struct {
		const char *name;
		bool (*fn)(void);
	} tests[] = {
		TEST(three_clones_beside_the_original),
		TEST(chain_of_clones),
		TEST(three_pty_clones_beside_the_original),
		TEST(chain_of_pty_clones),
		TEST(chain_of_uts_clones),
		TEST(chain_of_timens_clones),
	};
#undef TEST
	int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		bool selected = argc < 2;

		for (int a = 1; a < argc; a++)
			selected |= !strcmp(argv[a], tests[i].name);
		if (!selected)
			continue;
		why[0] = '\0';
		if (tests[i].fn()) {
			printf("PASS %s\n", tests[i].name);
			passed++;
		} else {
			printf("FAIL %s: %s\n", tests[i].name, why);
			failed++;
		}
		end_all_children();
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
