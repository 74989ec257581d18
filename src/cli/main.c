/* Entry point of the cryo tool: parses the command line, sets up logging and
 * hands over to the subcommand. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/image_kinds.h"
#include "cli/options.h"
#include "common/cleanup.h"
#include "common/log.h"

static const struct {
	const char *name;
	int (*run)(const struct cryo_opts *opts);
	const char *summary;
} commands[] = {
	{ "dump", cmd_dump, "checkpoint a process into an image directory" },
	{ "pre-dump", cmd_pre_dump, "save a running tree's memory, for a later dump's parent" },
	{ "restore", cmd_restore, "bring a process back from an image directory" },
	{ "check", cmd_check, "probe the kernel features cryo relies on" },
	{ "show", cmd_show, "print an image file or image directory as JSON" },
	{ "cpuinfo", cmd_cpuinfo, "dump|check: save this CPU, or compare a saved one (--cpu-cap)" },
	{ "swrk", cmd_swrk, "serve criu's RPC on socket FD (for runc, libcriu)" },
	{ "service", cmd_service, "serve criu's RPC on a unix socket PATH (or fd 3, systemd)" },
};

void print_usage(void)
{
	printf("usage: cryo COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].summary);
	printf("\noptions:\n"
	       "  -t, --tree PID          the root of the process tree to dump\n"
	       "  -D, --images-dir DIR    the image directory\n"
	       "  -o, --log-file FILE     write the log to FILE (relative to -D)\n"
	       "  -v[N], --verbosity[=N]  log level 0-4 (default 2; -v raises it)\n"
	       "  -j, --shell-job         the tree is a job of the current shell\n"
	       "  -R, --leave-running     keep the tree running after dump\n"
	       "  -s, --leave-stopped     dump and restore: leave the tree stopped (SIGSTOP)\n"
	       "                          instead of killed or running\n"
	       "      --timeout N         dump: give up freezing the tree after N s (default 10)\n"
	       "      --status-fd FD      restore, service: write a \\0 to FD and close it once\n"
	       "                          ready (the tree runs; the service listens)\n"
	       "      --exec-cmd -- CMD [ARGS]  restore: then run CMD in cryo's place, as the\n"
	       "                          restored root's parent\n"
	       "      --freeze-cgroup DIR dump: freeze the tree through this cgroup (v2, or a v1\n"
	       "                          freezer); all its processes must be in the tree\n"
	       "      --cpu-cap[=CAP,..]  dump: save this CPU (not with none); restore: compare\n"
	       "                          it: fpu (default), cpu, ins, all, none\n"
	       "      --evasive-devices   dump: a device node whose path no longer leads to its\n"
	       "                          device is saved by another node of /dev for it\n"
	       "  -d, --restore-detached  do not wait for the restored tree\n"
	       "      --pidfile FILE      write the restored root's PID to FILE\n"
	       "      --clone             restore: into new pid and mount namespaces, each\n"
	       "                          process with its saved pid inside (side by side)\n"
	       "      --lazy-pages        restore: private anonymous memory comes in on first\n"
	       "                          touch and in the background, from a page server\n"
	       "      --prev-images-dir DIR  dump, pre-dump: the parent set (a pre-dump; DIR\n"
	       "                          relative to -D, as criu's): pages unchanged since it\n"
	       "                          are not written again, restore reads them there\n"
	       "      --track-mem         dump, pre-dump: criu's; cryo finds unchanged pages\n"
	       "                          by per-page digests, with or without it\n"
	       "      --pre-dump-mode M   splice or read: taken; cryo's pre-dump always reads\n"
	       "      --tcp-established   checkpoint established TCP connections\n"
	       "      --tcp-close         dump: take TCP connections (any state) without\n"
	       "                          their state; restore: bring every connection\n"
	       "                          back closed (reads end, writes fail)\n"
	       "      --network-lock M    nftables (default): drop the connections' packets\n"
	       "                          while they are dumped or restored; iptables:\n"
	       "                          the same by iptables-restore (criu's way);\n"
	       "                          skip: do not\n"
	       "      --ext-unix-sk       let unix sockets have peers outside the dump: they\n"
	       "                          connect again to the peer's name at restore\n"
	       "      --skip-in-flight    drop the connections waiting in a unix listener's\n"
	       "                          accept queue that cannot be restored (their client\n"
	       "                          sent data, or is outside the dump) instead of refusing\n"
	       "  -q, --quiet             no progress line (drawn on stderr when it is a terminal)\n"
	       "      --display-stats     print the time of each stage, how long the tree was\n"
	       "                          frozen, and the pages scanned, zero and written\n"
	       "      --stats-file FILE   write the same statistics to FILE as JSON\n"
	       "      --pid-wait SECONDS  restore: wait this long (default 5) for a zombie that\n"
	       "                          holds a needed PID to be reaped by its parent\n"
	       "      --ghost-limit SIZE  dump: refuse a deleted file larger than SIZE\n"
	       "                          bytes (K, M, G suffixes; default: no limit)\n"
	       "      --sign-key FILE     dump: sign the set with the key in FILE (32 bytes,\n"
	       "                          raw or hex, mode 0600); restore: trust only a set\n"
	       "                          signed with it\n"
	       "  -W, --work-dir DIR      where relative log, pid and stats files go (default -D)\n"
	       "      --config FILE       read options from FILE (criu's format), after\n"
	       "                          /etc/criu/default.conf, ~/.criu/default.conf and\n"
	       "                          $CRIU_CONFIG_FILE; --no-default-config skips the first two\n"
	       "      --action-script F   run F at each of criu's action points\n"
	       "                          (CRTOOLS_SCRIPT_ACTION, CRTOOLS_INIT_PID)\n"
	       "  -S, --restore-sibling   restore: the root becomes a child of cryo's parent (-d)\n"
	       "      --manage-cgroups[=M] restore: back into the saved cgroups (v2, v1),\n"
	       "                          settings by criu's modes none, props, soft (default),\n"
	       "                          full, strict, ignore\n"
	       "      --cgroup-root [CTRL:]PATH  restore: the root process's cgroup goes to PATH\n"
	       "                          (in CTRL's hierarchy: cpu, name=systemd, ...)\n"
	       "      --cgroup-props YAML, --cgroup-props-file FILE  dump: the files saved\n"
	       "                          per controller (criu's format, merge or replace)\n"
	       "      --cgroup-dump-controller NAME  dump: save only the hierarchies named\n"
	       "      --cgroup-yard DIR   the hierarchies are mounted at DIR/NAME (criu's)\n"
	       "      --root /            the only root taken today\n"
	       "      --skip-mnt PATH     dump: leave the tree's mount at PATH out (restore does\n"
	       "                          not make it; a file of the tree on it is refused)\n"
	       "      --enable-fs FS[,FS] dump: mounts of these filesystem types (or all) that\n"
	       "                          cryo does not make are mounted anew, without files\n"
	       "      --empty-ns net      restore: the tree's network namespace is made empty\n"
	       "                          (loopback down) for a setup-namespaces script to fill\n"
	       "      --link-remap        dump: a file unlinked from its path that other links\n"
	       "                          keep is saved through a hidden link made beside it\n"
	       "  -l, --file-locks, --unprivileged, --weak-sysctls, --log-pid\n"
	       "                          accepted: they change nothing in what cryo does\n"
	       "  Other criu options are refused by name, with the reason: see cryo(8).\n");
}

static void release_opts(struct cryo_opts *opts)
{
	ns_externals_free(&opts->externals);
}

int main(int argc, char **argv)
{
	struct cryo_opts opts __attribute__((cleanup(release_opts))) = { 0 };
	_cleanup_free_ char *log_file = NULL;

	if (parse_options(argc, argv, &opts))
		return 1;
	if (!strcmp(opts.command, "help")) {
		print_usage();
		return 0;
	}
	/* dump makes its image directory, and the log may live in it. */
	if ((!strcmp(opts.command, "dump") || !strcmp(opts.command, "pre-dump")) &&
	    opts.images_dir && mkdir(opts.images_dir, 0700) &&
	    errno != EEXIST) {
		fprintf(stderr, "cryo: cannot create %s: %s\n", opts.images_dir, strerror(errno));
		return 1;
	}
	log_file = log_path(&opts);
	if (log_init(log_file, opts.verbosity))
		return 1;
	if (cryo_register_image_kinds()) {
		log_close();
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(opts.command, commands[i].name)) {
			int status = commands[i].run(&opts);

			log_close();
			return status;
		}
	}
	pr_err("unknown command '%s' (try 'cryo --help')", opts.command);
	return 1;
}
