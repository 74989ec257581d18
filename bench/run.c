/* The benchmark runner (`make bench`): starts each workload of bench/,
 * checkpoints and restores it through the cryo binary (and through criu
 * when CRIU names one), checks every restored copy, and prints one table
 * line per workload. It owns every process it starts and everything they
 * become (it is a child subreaper), and removes its directories.
 *
 * Not its business: building anything, or knowing how cryo works inside;
 * it only runs the commands a user would.
 *
 * This file: the command line and the order of the rows; the workloads are
 * workloads.c's, running them runner.c's, the table report.c's. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "bench.h"
#include "report.h"
#include "runner.h"
#include "workloads.h"

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-n RUNS] [-d IMAGE_PARENT] [-m MEMORY_PARENT] [-w NAME_PART]\n"
		"          BENCH_BIN_DIR CRYO\n"
		"  runs each workload RUNS times (default 3) through CRYO, and through\n"
		"  $CRIU too when it is set; images go under IMAGE_PARENT (default /var/tmp);\n"
		"  the memory workloads run again with images under MEMORY_PARENT (a tmpfs);\n"
		"  -w keeps only the workloads whose name contains NAME_PART\n",
		argv0);
	exit(2);
}

/* criu's default network lock goes through iptables, whose nft flavour
 * makes the `ip filter` and `ip6 filter` tables and leaves them, empty,
 * after criu removed its rules. Tables the bench found absent are removed
 * again at its end when they hold no rule, so no run outlives the bench. */
static const char *const iptables_tables[] = { "ip filter", "ip6 filter" };

static bool nft_table_exists(const char *table)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "nft list table %s >/dev/null 2>&1", table);
	return system(cmd) == 0;
}

static void remove_tables_criu_made(const bool *existed)
{
	char cmd[256];

	for (size_t i = 0; i < sizeof(iptables_tables) / sizeof(*iptables_tables); i++) {
		if (existed[i] || !nft_table_exists(iptables_tables[i]))
			continue;
		/* Only an empty one: a rule there is someone else's. */
		snprintf(cmd, sizeof(cmd),
			 "nft list table %s | grep -vE '^[[:space:]]*(table|chain|type|\\}|$)' "
			 "| grep -q . || nft delete table %s",
			 iptables_tables[i], iptables_tables[i]);
		if (system(cmd))
			fprintf(stderr, "bench: cannot remove the %s table criu left\n",
				iptables_tables[i]);
	}
}

/* The runs of one row, cryo's and criu's (when @criu) in turn, the first
 * of each pair alternating: a run meets the machine as the run before left
 * it (memory the host took back or has just backed, a page cache warm or
 * dropped), so each tool's runs come in both places. */
static void run_interleaved(const struct tool *cryo, const struct tool *criu,
			    const struct workload *w, const char *bench_bin, const char *parent,
			    bool lazy, bool running, int nr_runs, struct result *res_cryo,
			    struct result *res_criu)
{
	bool cryo_more = true, criu_more = criu != NULL;

	memset(res_cryo, 0, sizeof(*res_cryo));
	memset(res_criu, 0, sizeof(*res_criu));
	for (int i = 0; i < nr_runs && (cryo_more || criu_more); i++)
		for (int k = 0; k < 2; k++) {
			bool criu_turn = (k == 0) == (i % 2 == 1);

			if (criu_turn && criu_more)
				criu_more = run_workload_once(criu, w, bench_bin, parent, false,
							      running, res_criu);
			else if (!criu_turn && cryo_more)
				cryo_more = run_workload_once(cryo, w, bench_bin, parent, lazy,
							      running, res_cryo);
		}
}

int main(int argc, char **argv)
{
	const char *only = NULL, *criu_path = getenv("CRIU");
	const char *bench_bin, *image_parent = "/var/tmp", *memory_parent = NULL;
	int nr_runs = 3;
	struct tool cryo, criu;
	bool failed = false, small = false, refused = false;
	double start = now();
	static struct result res_cryo, res_criu;
	bool tables_existed[2];
	int c;

	while ((c = getopt(argc, argv, "n:d:m:w:")) != -1) {
		if (c == 'n')
			nr_runs = atoi(optarg);
		else if (c == 'd')
			image_parent = optarg;
		else if (c == 'm')
			memory_parent = optarg;
		else if (c == 'w')
			only = optarg;
		else
			usage(argv[0]);
	}
	if (optind + 2 != argc || nr_runs < 1 || nr_runs > MAX_RUNS)
		usage(argv[0]);
	bench_bin = argv[optind];
	if (criu_path && !*criu_path)
		criu_path = NULL;
	cryo = (struct tool){ "cryo", argv[optind + 1] };
	criu = (struct tool){ "criu", criu_path };
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		perror("PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	/* Our output goes through a pipe to make: write each line as it comes. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("cryo bench: %d runs each, median (min); images in %s (%s)", nr_runs, image_parent,
	       fs_name(image_parent));
	if (memory_parent)
		printf(", rows [-m] in %s (%s)", memory_parent, fs_name(memory_parent));
	printf("\n");
	if (criu_path)
		printf("criu: %s\n", criu_path);
	print_header(criu_path);
	for (size_t i = 0; i < 2; i++)
		tables_existed[i] = nft_table_exists(iptables_tables[i]);
	for (size_t i = 0; i < nr_workloads; i++) {
		const struct workload *w = &workloads[i];

		if (only && !strstr(w->name, only))
			continue;
		/* Memory workloads: each place again with --lazy-pages (cryo only),
		 * and in memory with -R (the frozen column is what a live
		 * service feels). */
		for (int run = 0; run < 8; run++) {
			bool in_memory = run & 1, lazy = run & 2, running = run & 4;
			const char *parent = in_memory ? memory_parent : image_parent;
			char name[128];

			if ((in_memory || lazy || running) && !w->memory)
				continue;
			if ((in_memory && !memory_parent) || (running && (!in_memory || lazy)))
				continue;
			snprintf(name, sizeof(name), "%s%s%s%s", w->name, in_memory ? " [-m]" : "",
				 lazy ? " [lazy]" : "", running ? " [-R]" : "");
			run_interleaved(&cryo, criu_path && !lazy ? &criu : NULL, w, bench_bin,
					parent, lazy, running, nr_runs, &res_cryo, &res_criu);
			print_row(name, parent, &res_cryo, criu_path && !lazy ? &res_criu : NULL,
				  nr_runs, &small);
			failed |= res_cryo.outcome == OUT_FAILED;
			refused |= res_cryo.outcome == OUT_UNSUPPORTED;
			if (criu_path && !lazy)
				failed |= res_criu.outcome == OUT_FAILED;
		}
	}
	if (criu_path)
		remove_tables_criu_made(tables_existed);
	printf("\nimage MiB: every file of the image. dump s, restore s: wall time of the "
	       "command, from fork to exit.\n"
	       "frozen s: how long the dump kept the tree stopped (first seize or freeze to "
	       "release or kill), as the tool reports it\n(cryo --stats-file, criu stats-dump); "
	       "-: not reported.\n"
	       "memcpy s: memcpy of as many bytes as the image's pages, between populated "
	       "buffers, in this run;\n"
	       "dump/cp, rest/cp: dump and restore time over that.\n"
	       "floor d/r s: the machine's floor, in this run: those bytes written from memory "
	       "into two new files where the images\nwent, one a core (on disk O_DIRECT and "
	       "fsync'd), then read back into fresh memory (UFFDIO_COPY, one half a core);\n"
	       "dump/fl, rest/fl: dump and restore time over it. RSS dmp, RSS rst: peak RSS "
	       "of the cryo process in MiB (wait4).\n"
	       "[-R]: dumped with --leave-running, the original killed after the dump.\n"
	       "[lazy]: restored with --lazy-pages (the memory comes in from a page server). "
	       "pass s: the workload's first pass\n"
	       "over its memory after the restore (the check of every word), as it timed it.\n");
	printf("%s\n", failed ? "FAIL: a run failed, as its row says; the other rows' restored copies "
				"all checked their state and said PASS."
			      : "Every restored copy checked all its memory and state and said PASS.");
	if (small)
		printf("-: under %llu MiB of pages, fixed costs (exec, seize, parasite) are all "
		       "a ratio to memcpy or to the floor would measure.\n", RATIO_MIN_BYTES / MIB);
	if (refused)
		printf("unsupported: cryo refused the dump with that message, and the workload "
		       "then checked it was left whole.\n");
	if (criu_path)
		printf("c/c: cryo time over criu time.\n");
	printf("%s in %.0f s\n", failed ? "bench FAILED" : "bench done", now() - start);
	return failed ? 1 : 0;
}
