/* runc end to end through `cryo swrk`: Debian's runc runs an OCI bundle the
 * test makes (a busybox-static root filesystem, a shell loop counting into
 * a file of the rootfs beside a child), and `runc --criu cryo checkpoint`
 * and `restore -d` bring it back twice: the count goes on from where it
 * stopped, with the same pids inside and the child alive. Skipped, with
 * the reason, without runc or busybox. The container, its state, cgroups
 * and the bundle go at the end. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container_util.h"
#include "session_util.h"
#include "harness.h"

#define RUNC "/usr/sbin/runc"
#define BUSYBOX "/bin/busybox"
/* The service: a child, and a count with the shell's and the child's pid
 * and whether the child still runs, one line every 50 ms. */
#define SERVICE                                                                     \
	"sleep 1000 & c=$!; i=0; while :; do i=$((i+1)); "                          \
	"if kill -0 $c 2>/dev/null; then s=alive; else s=dead; fi; "               \
	"echo \"$i $$ $c $s\" >> /tmp/count; sleep 0.05; done"

struct bundle {
	char dir[64];		/* the bundle; its rootfs inside */
	char state[96];		/* runc's --root, the test's own */
	char id[64];
	char cryo[PATH_MAX + 16];
	int out[2];		/* the container's stdout and stderr */
};

/* One line of the count: its number, the shell's pid and the child's. */
struct count {
	long n;
	int shell, child;
	char state[16];
};

/* Runs argv with stdout and stderr on @out_fd (or a log of the bundle);
 * its exit status, -1 if it could not run. */
static int run(const struct bundle *b, int out_fd, const char *const *argv)
{
	char log[PATH_MAX + 16];
	int status, fd;
	pid_t pid;

	snprintf(log, sizeof(log), "%s/runc.log", b->dir);
	pid = fork();
	if (pid == 0) {
		fd = out_fd >= 0 ? out_fd : open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(open("/dev/null", O_RDONLY), 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define RUN(b, fd, ...) run(b, fd, (const char *const[]){ __VA_ARGS__, NULL })

/* The last whole line of the count; false if there is none yet. */
static bool last_count(const struct bundle *b, struct count *c)
{
	char path[PATH_MAX + 32], line[128], last[128] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/rootfs/tmp/count", b->dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strchr(line, '\n'))
			snprintf(last, sizeof(last), "%s", line);
	fclose(f);
	return sscanf(last, "%ld %d %d %15s", &c->n, &c->shell, &c->child, c->state) == 4;
}

/* The line numbered @n, if written. */
static bool count_line(const struct bundle *b, long n, struct count *c)
{
	char path[PATH_MAX + 32], line[128];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/rootfs/tmp/count", b->dir);
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%ld %d %d %15s", &c->n, &c->shell, &c->child, c->state) ==
				4 && c->n == n;
	if (f)
		fclose(f);
	return found;
}

/* Waits up to @secs for the count to pass @above. */
static bool count_passes(const struct bundle *b, long above, double secs, struct count *c)
{
	for (double until = now() + secs; now() < until; usleep(20000))
		if (last_count(b, c) && c->n > above)
			return true;
	return false;
}

static bool image_written(const char *images)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/inventory.img", images);
	return !access(path, F_OK);
}

/* Bytes of the pages files in @images (du's apparent size), -1 if none. */
static long pages_bytes(const char *images)
{
	char cmd[PATH_MAX + 96];
	long bytes = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "cat %s/pages-*.img 2>/dev/null | wc -c", images);
	p = popen(cmd, "re");
	if (p && fscanf(p, "%ld", &bytes) != 1)
		bytes = -1;
	if (p)
		pclose(p);
	return bytes;
}

/* Whether @images links to its parent, the pre-dump beside it, and wrote
 * fewer page bytes than that pre-dump: unchanged pages stayed there. */
static bool parent_linked(const char *images)
{
	char path[PATH_MAX + 32], pre[PATH_MAX + 32];
	long own, parent;
	struct stat st;

	snprintf(path, sizeof(path), "%s/parent", images);
	if (lstat(path, &st) || !S_ISLNK(st.st_mode) || stat(path, &st) || !S_ISDIR(st.st_mode))
		return false;
	snprintf(pre, sizeof(pre), "%s/../img-pre", images);
	own = pages_bytes(images);
	parent = pages_bytes(pre);
	return own >= 0 && parent > 0 && own < parent;
}

/* Whether the checkpoint in @images took its parent's write tracker and
 * left pages there unread (its log, dump.log: runc asks for level 4). */
static bool tracker_used(const char *images)
{
	char cmd[2 * PATH_MAX + 256];
	long took = 0, unread = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "grep -c 'taken from its holder' %s/dump.log; grep -o '([0-9]* of them unread' "
		 "%s/dump.log | tr -d '(' | awk '{s += $1} END {print s + 0}'", images, images);
	p = popen(cmd, "re");
	if (p && fscanf(p, "%ld %ld", &took, &unread) != 2)
		took = unread = 0;
	if (p)
		pclose(p);
	return took == 1 && unread > 0;
}

/* config.json from `runc spec`, with @service, a terminal or not, a
 * writable root: the values runc spec writes are replaced as text. */
static bool edit_spec(const struct bundle *b, const char *service, bool terminal)
{
	char path[PATH_MAX + 16], *text, *args, *end, *out;
	struct stat st;
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/config.json", b->dir);
	f = fopen(path, "re");
	if (!f || fstat(fileno(f), &st))
		return false;
	text = calloc(1, st.st_size + 1);
	ok = text && fread(text, 1, st.st_size, f) == (size_t)st.st_size;
	fclose(f);
	args = ok ? strstr(text, "\"args\": [") : NULL;
	end = args ? strchr(args, ']') : NULL;
	out = calloc(1, st.st_size + 2 * strlen(service) + 64);
	if (!end || !out || !strstr(text, "\"terminal\": true") ||
	    !strstr(text, "\"readonly\": true")) {
		free(text);
		free(out);
		return false;
	}
	memcpy(out, text, args - text);
	strcat(out, "\"args\": [\"sh\", \"-c\", \"");
	/* The service's quotes, escaped for JSON. */
	for (const char *s = service; *s; s++) {
		size_t len = strlen(out);

		if (*s == '"' || *s == '\\')
			out[len++] = '\\';
		out[len] = *s;
	}
	strcat(out, "\"]");
	strcat(out, end + 1);
	if (!terminal)
		memcpy(strstr(out, "\"terminal\": true"), "\"terminal\":false", 16);
	memcpy(strstr(out, "\"readonly\": true"), "\"readonly\":false", 16);
	f = fopen(path, "we");
	ok = f && fputs(out, f) >= 0;
	if (f && fclose(f))
		ok = false;
	free(text);
	free(out);
	return ok;
}

static bool make_bundle(struct bundle *b, const char *service, bool terminal)
{
	if (!cryo_path(b->cryo, sizeof(b->cryo)))
		return false;
	snprintf(b->dir, sizeof(b->dir), "/tmp/cryo-runc-XXXXXX");
	if (!mkdtemp(b->dir))
		return false;
	snprintf(b->state, sizeof(b->state), "%s/state", b->dir);
	snprintf(b->id, sizeof(b->id), "cryo-test-%d", getpid());
	if (sh("mkdir -p %s/rootfs/bin %s/rootfs/tmp %s/rootfs/proc %s/rootfs/sys %s/rootfs/dev "
	       "&& cp " BUSYBOX " %s/rootfs/bin/ && chroot %s/rootfs /bin/busybox --install -s /bin",
	       b->dir, b->dir, b->dir, b->dir, b->dir, b->dir, b->dir))
		return false;
	if (RUN(b, -1, RUNC, "spec", "--bundle", b->dir))
		return false;
	return edit_spec(b, service, terminal);
}

static void remove_bundle(struct bundle *b)
{
	RUN(b, -1, RUNC, "--root", b->state, "kill", b->id, "KILL");
	usleep(100000);
	RUN(b, -1, RUNC, "--root", b->state, "delete", "-f", b->id);
	if (b->out[0] >= 0)
		close(b->out[0]);
	if (b->out[1] >= 0)
		close(b->out[1]);
	/* The log first, where a failure's reasons are. */
	if (harness_failed())
		sh("cat %s/runc.log %s/img*/*.log >&2 2>/dev/null", b->dir, b->dir);
	sh("rm -rf %s", b->dir);
}

TEST(runc_checkpoints_and_restores_a_container_twice_and_it_counts_on)
{
	struct bundle b = { .out = { -1, -1 } };
	struct count before, after, first;
	char images[PATH_MAX + 16];

	if (access(RUNC, X_OK) || access(BUSYBOX, X_OK)) {
		harness_skip("needs " RUNC " and " BUSYBOX " (Debian's runc and busybox-static)");
		return;
	}
	CHECK(!pipe2(b.out, O_CLOEXEC), "pipe: %s", strerror(errno));
	CHECK_GOTO(make_bundle(&b, SERVICE, false), out, "cannot make the bundle in %s", b.dir);
	/* stdout and stderr a pipe, as a runtime's caller gives: inherit_fd. */
	CHECK_GOTO(!RUN(&b, b.out[1], RUNC, "--root", b.state, "run", "-d", "--bundle", b.dir,
			b.id), out, "runc run failed");
	CHECK_GOTO(count_passes(&b, 5, 10, &first), out, "the service does not count");
	CHECK_GOTO(first.shell == 1 && first.child > 1, out, "pids %d and %d inside", first.shell,
		   first.child);
	/* --leave-running: images, and the service never stops. */
	snprintf(images, sizeof(images), "%s/img-running", b.dir);
	CHECK_GOTO(!RUN(&b, -1, RUNC, "--root", b.state, "--criu", b.cryo, "checkpoint",
			"--leave-running", "--image-path", images, b.id), out,
		   "runc checkpoint --leave-running failed");
	CHECK_GOTO(last_count(&b, &before) && count_passes(&b, before.n + 3, 10, &after), out,
		   "the count stopped after checkpoint --leave-running");
	CHECK_GOTO(image_written(images), out, "no inventory.img after --leave-running");
	/* --pre-dump (FEATURE_CHECK's MemTrack, then PRE_DUMP): the service runs
	 * on, and the first round's checkpoint names it as its parent. */
	snprintf(images, sizeof(images), "%s/img-pre", b.dir);
	CHECK_GOTO(!RUN(&b, -1, RUNC, "--root", b.state, "--criu", b.cryo, "checkpoint",
			"--pre-dump", "--image-path", images, b.id), out,
		   "runc checkpoint --pre-dump failed");
	CHECK_GOTO(last_count(&b, &before) && count_passes(&b, before.n + 3, 10, &after), out,
		   "the count stopped after a pre-dump");
	for (int round = 1; round <= 2; round++) {
		snprintf(images, sizeof(images), "%s/img%d", b.dir, round);
		CHECK_GOTO(round == 1 ? !RUN(&b, -1, RUNC, "--root", b.state, "--criu", b.cryo,
					     "checkpoint", "--parent-path", "../img-pre",
					     "--image-path", images, b.id) :
					!RUN(&b, -1, RUNC, "--root", b.state, "--criu", b.cryo,
					     "checkpoint", "--image-path", images, b.id), out,
			   "round %d: runc checkpoint failed", round);
		if (round == 1)
			CHECK_GOTO(parent_linked(images), out,
				   "round 1: the checkpoint has no parent link to the pre-dump");
		if (round == 1)
			CHECK_GOTO(tracker_used(images), out, "round 1: the checkpoint did not "
				   "take the pre-dump's write tracker (its dump.log)");
		CHECK_GOTO(last_count(&b, &before), out, "round %d: no count", round);
		usleep(300000);
		CHECK_GOTO(last_count(&b, &after) && after.n == before.n, out,
			   "round %d: the count went on after the checkpoint (%ld, %ld)", round,
			   before.n, after.n);
		CHECK_GOTO(!RUN(&b, b.out[1], RUNC, "--root", b.state, "--criu", b.cryo, "restore",
				"-d", "--image-path", images, "--bundle", b.dir, b.id), out,
			   "round %d: runc restore failed", round);
		/* The next number, not 1 again: the service was not restarted. */
		CHECK_GOTO(count_passes(&b, before.n + 2, 10, &after), out,
			   "round %d: the count stays at %ld after the restore", round, before.n);
		CHECK_GOTO(count_line(&b, before.n + 1, &after), out,
			   "round %d: no line %ld after %ld", round, before.n + 1, before.n);
		CHECK_GOTO(after.shell == first.shell && after.child == first.child &&
				   !strcmp(after.state, "alive"), out,
			   "round %d: after the restore, shell %d child %d (%s), were %d and %d",
			   round, after.shell, after.child, after.state, first.shell, first.child);
	}
out:
	remove_bundle(&b);
}

/* Replaces the first @from in the bundle's config.json with @to. */
static bool spec_replace(const struct bundle *b, const char *from, const char *to)
{
	char path[PATH_MAX + 16], text[65536], *at;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/config.json", b->dir);
	f = fopen(path, "re");
	n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	if (f)
		fclose(f);
	text[n] = '\0';
	at = strstr(text, from);
	if (!at || n + strlen(to) >= sizeof(text))
		return false;
	f = fopen(path, "we");
	if (!f)
		return false;
	fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return !fclose(f);
}

/* The container's init as the host sees it (`runc state`), 0 if none. */
static pid_t container_pid(const struct bundle *b)
{
	char path[PATH_MAX + 16], text[4096] = "", *at;
	size_t n;
	int fd;
	FILE *f;

	snprintf(path, sizeof(path), "%s/state.json", b->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0;
	RUN(b, fd, RUNC, "--root", b->state, "state", b->id);
	close(fd);
	f = fopen(path, "re");
	n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	if (f)
		fclose(f);
	text[n] = '\0';
	at = strstr(text, "\"pid\": ");
	return at ? (pid_t)atoi(at + 7) : 0;
}

/* config.json names an existing network namespace and UTS namespace by
 * path. runc's checkpoint marks the network one external (net[INODE]:
 * extRootNetNS) and its restore gives it back as an inherit_fd, and the
 * UTS one as join_ns: the restored container is in those very namespaces,
 * which cryo neither made nor filled, twice. */
TEST(runc_restores_a_container_into_its_namespaces_given_by_path)
{
	struct bundle b = { .out = { -1, -1 } };
	char netns[64], uts[80], with_path[160], images[PATH_MAX + 16];
	struct count before, after;
	bool made_netns = false, made_uts = false;
	pid_t pid;

	if (access(RUNC, X_OK) || access(BUSYBOX, X_OK) || access("/usr/sbin/ip", X_OK)) {
		harness_skip("needs " RUNC ", " BUSYBOX " and /usr/sbin/ip");
		return;
	}
	snprintf(netns, sizeof(netns), "/run/netns/cryo-runc-%d", getpid());
	snprintf(uts, sizeof(uts), "%s.uts", netns);
	CHECK_GOTO(!pipe2(b.out, O_CLOEXEC), out, "pipe: %s", strerror(errno));
	CHECK_GOTO(make_bundle(&b, SERVICE, false), out, "cannot make the bundle in %s", b.dir);
	made_netns = !sh("ip netns add %s && ip -n %s link set lo up", strrchr(netns, '/') + 1,
			 strrchr(netns, '/') + 1);
	CHECK_GOTO(made_netns, out, "ip netns add failed");
	made_uts = !sh("touch %s && unshare --uts=%s hostname joined-host", uts, uts);
	CHECK_GOTO(made_uts, out, "cannot make a UTS namespace at %s", uts);
	snprintf(with_path, sizeof(with_path), "\"type\": \"network\", \"path\": \"%s\"", netns);
	CHECK_GOTO(spec_replace(&b, "\"type\": \"network\"", with_path), out,
		   "cannot name the network namespace in config.json");
	snprintf(with_path, sizeof(with_path), "\"type\": \"uts\", \"path\": \"%s\"", uts);
	CHECK_GOTO(spec_replace(&b, "\"type\": \"uts\"", with_path), out,
		   "cannot name the UTS namespace in config.json");
	CHECK_GOTO(!RUN(&b, b.out[1], RUNC, "--root", b.state, "run", "-d", "--bundle", b.dir,
			b.id), out, "runc run failed");
	CHECK_GOTO(count_passes(&b, 3, 10, &after), out, "the service does not count");
	pid = container_pid(&b);
	CHECK_GOTO(pid > 0 && in_namespace(pid, "net", netns) && in_namespace(pid, "uts", uts),
		   out, "runc did not start pid %d in the namespaces named", pid);
	for (int round = 1; round <= 2; round++) {
		snprintf(images, sizeof(images), "%s/img%d", b.dir, round);
		CHECK_GOTO(!RUN(&b, -1, RUNC, "--root", b.state, "--criu", b.cryo, "checkpoint",
				"--image-path", images, b.id), out, "round %d: runc checkpoint failed",
			   round);
		CHECK_GOTO(last_count(&b, &before), out, "round %d: no count", round);
		CHECK_GOTO(!RUN(&b, b.out[1], RUNC, "--root", b.state, "--criu", b.cryo, "restore",
				"-d", "--image-path", images, "--bundle", b.dir, b.id), out,
			   "round %d: runc restore failed", round);
		CHECK_GOTO(count_passes(&b, before.n + 2, 10, &after), out,
			   "round %d: the count stays at %ld after the restore", round, before.n);
		pid = container_pid(&b);
		CHECK_GOTO(pid > 0 && in_namespace(pid, "net", netns), out,
			   "round %d: the restored pid %d is not in %s", round, pid, netns);
		CHECK_GOTO(in_namespace(pid, "uts", uts), out,
			   "round %d: the restored pid %d is not in the UTS namespace %s", round,
			   pid, uts);
	}
out:
	remove_bundle(&b);
	if (made_uts)
		sh("umount %s", uts);
	unlink(uts);
	if (made_netns)
		sh("ip netns del %s", strrchr(netns, '/') + 1);
}

/* The pty master runc sends to the console socket @listener once it made
 * the container's terminal; -1 if none came. */
static int receive_console(int listener)
{
	char cmsg_buf[CMSG_SPACE(sizeof(int))] = { 0 }, byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cmsg_buf,
			      .msg_controllen = sizeof(cmsg_buf) };
	struct pollfd pfd = { .fd = listener, .events = POLLIN };
	struct cmsghdr *cmsg;
	int conn, fd = -1;

	if (poll(&pfd, 1, 5000) != 1)
		return -1;
	conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return -1;
	cmsg = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
	close(conn);
	return fd;
}

/* "terminal": true: the container's pty master is runc's (sent to the
 * console socket), outside the dump. runc sets orphan_pts_master: cryo saves
 * the pty from its slave, and at restore makes a new pair, gives the shell
 * the slave and hands the master back with the "orphan-pts-master"
 * notification, which runc passes on to the console socket given to
 * `runc restore`. The shell answers through each new master, twice. */
TEST(runc_terminal_container_is_restored_twice_and_answers_on_the_new_master)
{
	struct bundle b = { .out = { -1, -1 } };
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char images[PATH_MAX + 16], line[32];
	int listener = -1, master = -1;

	if (access(RUNC, X_OK) || access(BUSYBOX, X_OK)) {
		harness_skip("needs " RUNC " and " BUSYBOX " (Debian's runc and busybox-static)");
		return;
	}
	CHECK_GOTO(make_bundle(&b, "while read l; do echo got $l; done", true), out,
		   "cannot make the bundle in %s", b.dir);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/console.sock", b.dir);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_GOTO(listener >= 0 && !bind(listener, (struct sockaddr *)&addr, sizeof(addr)) &&
			   !listen(listener, 1), out, "console socket: %s", strerror(errno));
	CHECK_GOTO(!RUN(&b, -1, RUNC, "--root", b.state, "run", "-d", "--console-socket",
			addr.sun_path, "--bundle", b.dir, b.id), out, "runc run failed");
	master = receive_console(listener);
	CHECK_GOTO(master >= 0, out, "runc sent no pty master to the console socket");
	CHECK_GOTO(terminal_answers(master, "zero"), out, "the container's shell does not answer");
	for (int round = 1; round <= 2; round++) {
		snprintf(images, sizeof(images), "%s/img%d", b.dir, round);
		CHECK_GOTO(!RUN(&b, -1, RUNC, "--root", b.state, "--criu", b.cryo, "checkpoint",
				"--image-path", images, b.id), out,
			   "round %d: runc checkpoint of a terminal container failed", round);
		close(master);
		master = -1;
		CHECK_GOTO(!RUN(&b, -1, RUNC, "--root", b.state, "--criu", b.cryo, "restore",
				"-d", "--console-socket", addr.sun_path, "--image-path", images,
				"--bundle", b.dir, b.id), out, "round %d: runc restore failed", round);
		master = receive_console(listener);
		CHECK_GOTO(master >= 0, out, "round %d: no new pty master came to the console "
			   "socket", round);
		snprintf(line, sizeof(line), "round%d", round);
		CHECK_GOTO(terminal_answers(master, line), out,
			   "round %d: the restored shell does not answer on the new master", round);
	}
out:
	if (master >= 0)
		close(master);
	if (listener >= 0)
		close(listener);
	remove_bundle(&b);
}
