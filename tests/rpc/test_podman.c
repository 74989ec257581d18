/* podman end to end through cryo: Debian's podman, with runc as its runtime
 * and a `criu` in PATH that is cryo, checkpoints and restores a container
 * of a local image (the busybox-static root filesystem, `podman import`ed):
 * a shell loop counting into a file beside a TCP listener (busybox httpd).
 * On the default bridge network twice, the count going on and the listener
 * answering at the container's address; then `--export` to a tarball, the
 * container removed, `--import` under a new name. With `--network none`
 * once: the listener comes back in a new namespace whose loopback is down,
 * as criu leaves it. Skipped, with the reason, without podman, runc or
 * busybox. Everything of podman's (storage, state, configuration, locks,
 * networks) is in a temporary folder, and the test runs in a mount and a
 * network namespace of its own, so that podman's mounts, the bridge and
 * its firewall rules go with it; containers and the image are removed at
 * the end, also on failure. test_runc.c is runc alone. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container_util.h"
#include "harness.h"

#define PODMAN "/usr/bin/podman"
#define RUNC "/usr/sbin/runc"
#define BUSYBOX "/bin/busybox"
#define IMAGE "localhost/cryo-busybox"
#define PORT 8080
/* The service: httpd serving /www/x, and a count, one line every 50 ms. */
#define SERVICE                                                                    \
	"mkdir -p /www && echo hello-from-cryo > /www/x && httpd -f -p 8080 -h /www & " \
	"i=0; while :; do i=$((i+1)); echo $i >> /tmp/count; sleep 0.05; done"

/* Where podman keeps things whatever its configuration says (an image
 * cache, netavark's state, network namespaces): a tmpfs in the test's
 * mount namespace; a folder missing on the machine is made, and removed
 * after. */
static const char *const fixed_places[] = { "/var/lib/containers", "/run/containers",
					     "/run/netns" };
#define NR_FIXED (sizeof(fixed_places) / sizeof(fixed_places[0]))

struct podman_env {
	char dir[64];			/* everything of podman's */
	bool have_dir;			/* mkdtemp() made it */
	bool made[NR_FIXED];		/* fixed places the test made */
	char name[64];			/* the container's */
	char cryo[PATH_MAX];
};

/* Runs podman with @args (a shell word list), its errors appended to
 * podman.log; its output in @out (may be NULL), without the last newline.
 * The exit status, -1 if it could not run. */
static int podman(const struct podman_env *e, char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int podman(const struct podman_env *e, char *out, size_t size, const char *fmt, ...)
{
	char args[2 * PATH_MAX], cmd[4 * PATH_MAX], log[PATH_MAX - 64];
	size_t used = 0;
	va_list ap;
	FILE *p;
	int status, c;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(log, sizeof(log), "%s/podman.log", e->dir);
	p = fopen(log, "ae");
	if (p) {
		fprintf(p, "+ podman %s\n", args);
		fclose(p);
	}
	snprintf(cmd, sizeof(cmd), PODMAN " %s 2>> %s", args, log);
	p = popen(cmd, "re");
	if (!p)
		return -1;
	while ((c = fgetc(p)) != EOF)
		if (out && used + 1 < size)
			out[used++] = (char)c;
	status = pclose(p);
	if (out && size) {
		out[used] = '\0';
		if (used && out[used - 1] == '\n')
			out[used - 1] = '\0';
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	int ret = f && fputs(text, f) >= 0 ? 0 : -1;

	if (f && fclose(f))
		ret = -1;
	return ret;
}

/* podman's configuration, all of it below @e->dir: storage (overlay),
 * state, file locks (not /dev/shm), events, networks; runc as the
 * runtime; limits this machine lets a container have (podman's default
 * nofile and nproc limits need CAP_SYS_RESOURCE where they are above the
 * caller's). */
static bool configure(struct podman_env *e)
{
	char path[PATH_MAX], text[4096];

	if (!cryo_path(e->cryo, sizeof(e->cryo)) || !realpath(e->cryo, path))
		return false;
	snprintf(e->cryo, sizeof(e->cryo), "%s", path);
	snprintf(text, sizeof(text),
		 "[containers]\n"
		 "default_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n"
		 "[engine]\n"
		 "runtime = \"runc\"\n"
		 "cgroup_manager = \"cgroupfs\"\n"
		 "lock_type = \"file\"\n"
		 "events_logger = \"file\"\n"
		 "events_logfile_path = \"%s/events.log\"\n"
		 "tmp_dir = \"%s/tmp\"\n"
		 "volume_path = \"%s/volumes\"\n"
		 "[network]\n"
		 "network_backend = \"netavark\"\n"
		 "network_config_dir = \"%s/networks\"\n",
		 e->dir, e->dir, e->dir, e->dir);
	snprintf(path, sizeof(path), "%s/containers.conf", e->dir);
	if (write_file(path, text) || setenv("CONTAINERS_CONF", path, 1))
		return false;
	snprintf(text, sizeof(text), "[storage]\ndriver = \"overlay\"\ngraphroot = \"%s/root\"\n"
		 "runroot = \"%s/run\"\n", e->dir, e->dir);
	snprintf(path, sizeof(path), "%s/storage.conf", e->dir);
	if (write_file(path, text) || setenv("CONTAINERS_STORAGE_CONF", path, 1))
		return false;
	/* podman asks `criu` (go-criu, over swrk) and runc runs it from PATH. */
	snprintf(path, sizeof(path), "%s/bin:%s", e->dir, getenv("PATH") ? getenv("PATH") : "");
	if (sh("mkdir -p %s/bin %s/tmp && ln -s %s %s/bin/criu", e->dir, e->dir, e->cryo, e->dir) ||
	    setenv("PATH", path, 1))
		return false;
	snprintf(path, sizeof(path), "%s/tmp", e->dir);
	return !setenv("TMPDIR", path, 1);
}

/* A mount and a network namespace of the test's own: podman's mounts (its
 * storage, the containers' network namespaces), the bridge, its veths and
 * firewall rules stay in them, and the fixed places are a tmpfs there. */
static bool isolate(struct podman_env *e)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWNET) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return false;
	for (size_t i = 0; i < NR_FIXED; i++) {
		e->made[i] = !mkdir(fixed_places[i], 0700);
		if ((!e->made[i] && errno != EEXIST) ||
		    mount("tmpfs", fixed_places[i], "tmpfs", 0, "mode=0700"))
			return false;
	}
	return !sh("ip link set lo up");
}

/* The image: busybox-static installed in a root filesystem, imported. */
static bool make_image(struct podman_env *e)
{
	if (sh("set -e; r=%s/rootfs; mkdir -p $r/bin $r/tmp $r/proc $r/sys $r/dev $r/etc; "
	       "cp " BUSYBOX " $r/bin/; chroot $r /bin/busybox --install -s /bin; "
	       "tar -C $r -cf %s/rootfs.tar .", e->dir, e->dir))
		return false;
	return !podman(e, NULL, 0, "import %s/rootfs.tar " IMAGE, e->dir);
}

static bool setup(struct podman_env *e)
{
	snprintf(e->dir, sizeof(e->dir), "/tmp/cryo-podman-XXXXXX");
	snprintf(e->name, sizeof(e->name), "cryo-test-%d", getpid());
	e->have_dir = mkdtemp(e->dir) != NULL;
	return e->have_dir && isolate(e) && configure(e) && make_image(e);
}

static void teardown(struct podman_env *e)
{
	/* (Not by a trailing X: mkdtemp() ends one name in 62 with one.) */
	if (!e->have_dir)
		return;
	podman(e, NULL, 0, "rm -a -f -t 0");
	podman(e, NULL, 0, "rmi -a -f");
	if (harness_failed())
		sh("cat %s/podman.log >&2; cat %s/root/overlay-containers/*/userdata/*.log >&2 "
		   "2>/dev/null", e->dir, e->dir);
	/* podman's storage is mounted in the test's namespace only. */
	sh("umount -R %s/root/overlay 2>/dev/null; umount -R %s/run 2>/dev/null; rm -rf %s",
	   e->dir, e->dir, e->dir);
	for (size_t i = 0; i < NR_FIXED; i++)
		if (e->made[i] && (umount2(fixed_places[i], MNT_DETACH) || rmdir(fixed_places[i])))
			fprintf(stderr, "cannot remove %s, which the test made\n", fixed_places[i]);
}

/* The container's last whole line of count, read through its root. */
static long last_count(const struct podman_env *e, const char *name)
{
	char path[96], pid[32] = "", line[64], last[64] = "";
	FILE *f;

	if (podman(e, pid, sizeof(pid), "inspect -f '{{.State.Pid}}' %s", name) || atoi(pid) <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/root/tmp/count", atoi(pid));
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strchr(line, '\n'))
			snprintf(last, sizeof(last), "%s", line);
	fclose(f);
	return last[0] ? atol(last) : -1;
}

/* Whether the count, through the container's root, is 1, 2, 3... with no
 * line out of turn: a service restarted would begin again at 1. */
static bool count_unbroken(const struct podman_env *e, const char *name)
{
	char pid[32] = "";

	if (podman(e, pid, sizeof(pid), "inspect -f '{{.State.Pid}}' %s", name) || atoi(pid) <= 0)
		return false;
	return !sh("awk '$0 != NR { exit 1 }' /proc/%d/root/tmp/count", atoi(pid));
}

static bool count_passes(const struct podman_env *e, const char *name, long above, double secs)
{
	for (double until = now() + secs; now() < until; usleep(50000))
		if (last_count(e, name) > above)
			return true;
	return false;
}

/* GET /x from the listener at @ip (the container's address on the bridge);
 * true when the answer carries the file. */
static bool listener_answers(const char *ip)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	static const char req[] = "GET /x HTTP/1.0\r\n\r\n";
	char answer[1024] = "";
	size_t used = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = false;

	if (fd < 0 || inet_pton(AF_INET, ip, &addr.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    write(fd, req, sizeof(req) - 1) != sizeof(req) - 1)
		goto out;
	for (double until = now() + 5; now() < until && used < sizeof(answer) - 1;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 200) != 1)
			continue;
		n = read(fd, answer + used, sizeof(answer) - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	ok = strstr(answer, "hello-from-cryo");
out:
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool container_ip(const struct podman_env *e, const char *name, char *ip, size_t size)
{
	return !podman(e, ip, size, "inspect -f '{{.NetworkSettings.IPAddress}}' %s", name) &&
	       *ip;
}

/* Whether the container's state is @want ("running", "exited"). */
static bool state_is(const struct podman_env *e, const char *name, const char *want)
{
	char state[32] = "";

	return !podman(e, state, sizeof(state), "inspect -f '{{.State.Status}}' %s", name) &&
	       !strcmp(state, want);
}

/* Checkpoint of @name, with @how added: it stops where it was. Its count
 * just before in *@before. */
static bool checkpoint(const struct podman_env *e, const char *name, const char *how,
		       long *before)
{
	char out[4096];

	*before = last_count(e, name);
	if (podman(e, out, sizeof(out), "container checkpoint %s %s", how, name)) {
		harness_fail(__FILE__, __LINE__, "podman container checkpoint %s %s failed", how,
			     name);
		return false;
	}
	if (strstr(how, "--print-stats") && (!strstr(out, "\"frozen_time\"") ||
					     !strstr(out, "\"pages_written\""))) {
		harness_fail(__FILE__, __LINE__, "checkpoint --print-stats shows no criu "
			     "statistics: %s", out);
		return false;
	}
	if (!state_is(e, name, "exited") || last_count(e, name) >= 0) {
		harness_fail(__FILE__, __LINE__, "after the checkpoint, %s still runs", name);
		return false;
	}
	return true;
}

/* After a restore: @name counts on from where it was, not from 1. */
static bool counts_on(const struct podman_env *e, const char *name, long before)
{
	if (!state_is(e, name, "running") || !count_passes(e, name, before + 3, 10)) {
		harness_fail(__FILE__, __LINE__, "after the restore, %s does not count past %ld",
			     name, before + 3);
		return false;
	}
	if (!count_unbroken(e, name)) {
		harness_fail(__FILE__, __LINE__, "after the restore, %s counted from 1 again", name);
		return false;
	}
	return true;
}

/* The container's pid 1's seccomp filters and capabilities, from its
 * status: "Seccomp: 2 filters 1 CapEff ...". */
static bool confinement(const struct podman_env *e, const char *name, char *out, size_t size)
{
	char pid[32] = "", cmd[160], line[128];
	size_t used = 0;
	FILE *p;

	if (podman(e, pid, sizeof(pid), "inspect -f '{{.State.Pid}}' %s", name) || atoi(pid) <= 0)
		return false;
	snprintf(cmd, sizeof(cmd), "grep -E '^(Seccomp|Seccomp_filters|CapEff|CapPrm|CapBnd):' "
		 "/proc/%d/status", atoi(pid));
	p = popen(cmd, "re");
	if (!p)
		return false;
	out[0] = '\0';
	while (fgets(line, sizeof(line), p) && used < size) {
		line[strcspn(line, "\n")] = ' ';
		used += (size_t)snprintf(out + used, size - used, "%s", line);
	}
	return !pclose(p) && strstr(out, "Seccomp:\t2");
}

static bool have_podman(void)
{
	if (!access(PODMAN, X_OK) && !access(RUNC, X_OK) && !access(BUSYBOX, X_OK))
		return true;
	harness_skip("needs " PODMAN ", " RUNC " and " BUSYBOX
		     " (Debian's podman, runc and busybox-static)");
	return false;
}

TEST(podman_checkpoints_and_restores_a_container_on_its_bridge_twice_and_by_export)
{
	struct podman_env e = { 0 };
	char ip[64] = "", tar[PATH_MAX], imported[80], confined[256], now_confined[256];
	char stats[4096];
	long before;

	if (!have_podman())
		return;
	CHECK_GOTO(setup(&e), out, "cannot set podman up in %s", e.dir);
	CHECK_GOTO(!podman(&e, NULL, 0, "run -d --name %s " IMAGE " sh -c '%s'", e.name, SERVICE),
		   out, "podman run failed");
	CHECK_GOTO(count_passes(&e, e.name, 5, 10), out, "the service does not count");
	CHECK_GOTO(container_ip(&e, e.name, ip, sizeof(ip)), out, "no address on the bridge");
	CHECK_GOTO(listener_answers(ip), out, "the listener at %s does not answer", ip);
	/* podman's default seccomp profile, and no CAP_SYS_ADMIN. */
	CHECK_GOTO(confinement(&e, e.name, confined, sizeof(confined)), out,
		   "no seccomp filter in the container: %s", confined);
	for (int round = 1; round <= 2; round++) {
		/* Round 2 shows criu's statistics, which cryo writes as criu. */
		CHECK_GOTO(checkpoint(&e, e.name, round == 2 ? "--print-stats" : "", &before), out,
			   "round %d", round);
		CHECK_GOTO(!podman(&e, stats, sizeof(stats), "container restore %s %s",
				   round == 2 ? "--print-stats" : "", e.name), out,
			   "round %d: podman container restore failed", round);
		CHECK_GOTO(round == 1 || (strstr(stats, "\"forking_time\"") &&
					  strstr(stats, "\"pages_restored\"")), out,
			   "restore --print-stats shows no criu statistics: %s", stats);
		CHECK_GOTO(counts_on(&e, e.name, before), out, "round %d", round);
		CHECK_GOTO(container_ip(&e, e.name, ip, sizeof(ip)) && listener_answers(ip), out,
			   "round %d: the listener at %s does not answer after the restore",
			   round, ip);
		CHECK_GOTO(confinement(&e, e.name, now_confined, sizeof(now_confined)) &&
				   !strcmp(confined, now_confined), out,
			   "round %d: after the restore: %s; before: %s", round, now_confined,
			   confined);
	}
	/* Exported, removed, imported under another name. */
	snprintf(tar, sizeof(tar), "--export=%s/checkpoint.tar.gz", e.dir);
	snprintf(imported, sizeof(imported), "%s-imported", e.name);
	CHECK_GOTO(checkpoint(&e, e.name, tar, &before), out, "export");
	/* podman puts criu's stats-dump in the export, and says so when it lacks it. */
	CHECK_GOTO(sh("grep -q stats-dump %s/podman.log", e.dir), out,
		   "podman found no stats-dump to export");
	CHECK_GOTO(!podman(&e, NULL, 0, "rm -f -t 0 %s", e.name) && !state_is(&e, e.name, "exited"),
		   out, "podman rm failed");
	CHECK_GOTO(!podman(&e, NULL, 0, "container restore --import=%s --name %s", tar + 9,
			   imported), out, "podman container restore --import failed");
	CHECK_GOTO(counts_on(&e, imported, before), out, "imported");
	CHECK_GOTO(container_ip(&e, imported, ip, sizeof(ip)) && listener_answers(ip), out,
		   "imported: the listener at %s does not answer", ip);
out:
	teardown(&e);
}

/* The listening socket of @name on PORT, in its /proc/net/tcp or tcp6
 * (httpd listens on :: where IPv6 is). */
static bool listening(const struct podman_env *e, const char *name)
{
	char pid[32] = "";

	if (podman(e, pid, sizeof(pid), "inspect -f '{{.State.Pid}}' %s", name) || atoi(pid) <= 0)
		return false;
	return !sh("awk '$2 ~ /:%04X$/ && $4 == \"0A\" { f = 1 } END { exit !f }' "
		   "/proc/%d/net/tcp /proc/%d/net/tcp6", PORT, atoi(pid), atoi(pid));
}

/* --network none: runc gives criu empty_ns, and the namespace comes back
 * new, its loopback down (as criu leaves it), the listener in it. */
TEST(podman_checkpoints_and_restores_a_container_without_a_network)
{
	struct podman_env e = { 0 };
	long before;

	if (!have_podman())
		return;
	CHECK_GOTO(setup(&e), out, "cannot set podman up in %s", e.dir);
	CHECK_GOTO(!podman(&e, NULL, 0, "run -d --network none --name %s " IMAGE " sh -c '%s'",
			   e.name, SERVICE), out, "podman run failed");
	CHECK_GOTO(count_passes(&e, e.name, 5, 10) && listening(&e, e.name), out,
		   "the service does not count or listen");
	CHECK_GOTO(checkpoint(&e, e.name, "", &before), out, "checkpoint");
	CHECK_GOTO(!podman(&e, NULL, 0, "container restore %s", e.name), out,
		   "podman container restore failed");
	CHECK_GOTO(counts_on(&e, e.name, before), out, "restored");
	CHECK_GOTO(listening(&e, e.name), out, "no listener on port %d after the restore", PORT);
out:
	teardown(&e);
}
