/* Tests of the network lock by iptables (--network-lock iptables): a dump
 * killed while its chain drops a connection's packets leaves it stale; cryo
 * check names it and the next run with the same method removes it. The
 * nftables lock's are in test_neg_fds.c. Skipped, saying so, when iptables
 * is not installed. And, by both methods, a dump locks the connections of a
 * whole tree in one run. The iptables tests run in a network namespace of
 * their own: iptables-nft makes the filter tables it touches, which would
 * outlive them in the runner's. */
#include <errno.h>
#include <limits.h>
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

/* Whether iptables-save or ip6tables-save lists chain @name. */
static bool chain_exists(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "(iptables-save; ip6tables-save) 2>/dev/null | grep -q '^:%s '",
		 name);
	return system(cmd) == 0;
}

/* Deletes chain @name and the jump to it in both families, if there. */
static void delete_chain(const char *name)
{
	char cmd[512];

	for (int v6 = 0; v6 < 2; v6++) {
		snprintf(cmd, sizeof(cmd), "%s-save 2>/dev/null | grep -q '^:%s ' && printf "
			 "'*filter\\n-D INPUT -j %s\\n-F %s\\n-X %s\\nCOMMIT\\n' | %s-restore -w "
			 "--noflush", v6 ? "ip6tables" : "iptables", name, name, name, name,
			 v6 ? "ip6tables" : "iptables");
		if (system(cmd) < 0)
			break;
	}
	if (chain_exists(name))
		fprintf(stderr, "cannot delete iptables chain %s\n", name);
}

static bool iptables_missing(const char *test)
{
	if (!system("command -v iptables-restore >/dev/null 2>&1 || "
		    "test -x /usr/sbin/iptables-restore"))
		return false;
	printf("SKIP %s: needs iptables-restore (Debian's iptables), which is not installed\n",
	       test);
	return true;
}

/* An action script that kills its cryo (the first process named cryo*
 * above it) at post-dump: with -R, the connections are still locked then,
 * by the chain of that cryo. */
static void write_killer(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fprintf(f, "#!/bin/sh\n"
			"[ \"$CRTOOLS_SCRIPT_ACTION\" = post-dump ] || exit 0\n"
			"p=$PPID\n"
			"while [ \"$p\" -gt 1 ]; do\n"
			"\tcase $(cat /proc/$p/comm) in cryo*) kill -9 $p; exit 0;; esac\n"
			"\tp=$(cut -d' ' -f4 /proc/$p/stat)\n"
			"done\n"
			"exit 1\n");
		fclose(f);
	}
	chmod(path, 0755);
}

TEST(an_iptables_lock_left_by_a_killed_dump_is_reported_and_cleaned_by_the_next_run)
{
	struct prog p = { 0 }, next = { 0 };
	struct cryo_run r;
	char img[PATH_MAX + 8], script[PATH_MAX + 8], pid[16], chain[64] = "", own[64] = "";
	int netns;

	if (iptables_missing(__func__))
		return;
	netns = enter_private_netns();
	CHECK(netns >= 0, "cannot make a network namespace: %s", strerror(-netns));
	CHECK_GOTO(start_prog(&p, "prog_tcp_conn", NULL, NULL), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	pathf(script, "%s/kill-cryo.sh", p.dir);
	write_killer(script);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img, "-R", "--network-lock", "iptables",
		  "--action-script", script, "-o", "dump.log");
	snprintf(chain, sizeof(chain), "CRYO_LOCK_%d", r.pid);
	CHECK_GOTO(r.status == 128 + SIGKILL, out, "the dump was not killed at post-dump "
		   "(status %d): %s", r.status, r.out);
	CHECK_GOTO(chain_exists(chain), out, "the killed dump left no chain %s", chain);
	run_cryo(&r, "check");
	CHECK_GOTO(strstr(r.out, "stale   network lock: iptables chain") && strstr(r.out, chain),
		   out, "cryo check did not report %s: %s", chain, r.out);
	/* The next dump with the iptables lock removes it, then makes and
	 * removes its own. */
	CHECK_GOTO(start_prog(&next, "prog_tcp_conn", NULL, NULL), out, "%s", why);
	pathf(img, "%s/img", next.dir);
	snprintf(pid, sizeof(pid), "%d", next.pid);
	prog_cryo(&r, &next, "dump", "-t", pid, "-D", img, "-R", "--network-lock", "iptables",
		  "-o", "dump.log");
	CHECK_GOTO(r.status == 0, out, "dump failed: %s", r.out);
	snprintf(own, sizeof(own), "CRYO_LOCK_%d", r.pid);
	CHECK_GOTO(!chain_exists(chain), out, "the next dump left the stale chain %s", chain);
	CHECK_GOTO(!chain_exists(own), out, "the dump with -R left its own chain %s", own);
	CHECK_GOTO(prog_passes(&next), out, "%s", why);
out:
	if (chain[0])
		delete_chain(chain);
	if (own[0])
		delete_chain(own);
	end_prog(&next);
	end_prog(&p);
	leave_private_netns(netns);
}

/* Dumps prog_tcp_tree (-R) with lock @method: its log must say that the
 * four connections of its two processes were locked in one run. */
static void tree_locked_in_one_run(const char *method)
{
	struct prog p = { 0 };
	struct cryo_run r;
	char img[PATH_MAX + 8], path[PATH_MAX + 16], pid[16], want[128];
	char *log = malloc(1 << 20);

	CHECK_GOTO(log, out, "out of memory");
	CHECK_GOTO(start_prog(&p, "prog_tcp_tree", NULL, NULL), out, "%s", why);
	pathf(img, "%s/img", p.dir);
	snprintf(pid, sizeof(pid), "%d", p.pid);
	prog_cryo(&r, &p, "dump", "-t", pid, "-D", img, "-R", "--tcp-established",
		  "--network-lock", method, "-v4", "-o", "dump.log");
	CHECK_GOTO(r.status == 0, out, "dump with --network-lock %s failed: %s", method, r.out);
	pathf(path, "%s/dump.log", img);
	CHECK_GOTO(read_text(path, log, 1 << 20), out, "cannot read %s", path);
	snprintf(want, sizeof(want), "network lock: 4 connections by %s",
		 strcmp(method, "iptables") ? "nftables" : "iptables");
	CHECK_GOTO(strstr(log, want) && strstr(strstr(log, want), "to lock (1 run)"), out,
		   "%s does not say '%s: ... to lock (1 run)'", path, want);
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	free(log);
	end_prog(&p);
}

TEST(a_tree_of_two_processes_is_locked_by_one_iptables_restore)
{
	int netns;

	if (iptables_missing(__func__))
		return;
	netns = enter_private_netns();
	CHECK(netns >= 0, "cannot make a network namespace: %s", strerror(-netns));
	tree_locked_in_one_run("iptables");
	leave_private_netns(netns);
}

TEST(a_tree_of_two_processes_is_locked_by_one_nftables_transaction)
{
	tree_locked_in_one_run("nftables");
}
