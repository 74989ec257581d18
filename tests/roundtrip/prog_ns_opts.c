/* The program of criu's namespace options (test_criu_ns_opts,
 * test_neg_mnt_opts), started by those runners only, in one of two modes:
 *  - "mounts" (its own mount namespace): a tmpfs "kept" with a file it
 *    holds open, a tmpfs "skip" (for --skip-mnt) and a ramfs "ram" (for
 *    --enable-fs), each with a file; with "hold-skipped" it also holds an
 *    fd on skip's file, with "below-skipped" a tmpfs is mounted in skip,
 *    with "thread-in-skipped" a thread of fs info of its own has its cwd
 *    in skip, with "bound-in-skipped" a unix socket is bound in skip.
 *    On SIGTERM it checks the kept file, by its fd and its path; what
 *    became of skip and ram is for the runner to see.
 *  - "net" (its own network namespace): the loopback up with 10.55.0.1
 *    on it, a UDP socket bound to port 0 of any address. On SIGTERM the
 *    socket keeps its port and gets a datagram it sends to 127.0.0.1, and
 *    the address written into the file "addr" (by the runner's action
 *    script) can be bound. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "prog.h"

#define TEXT "kept across the dump"

static void in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", prog_dir(), name);
}

static bool write_file(const char *dir, const char *name, const char *text)
{
	char path[4200];
	int fd;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* What "mounts" puts in skip besides its file. */
enum in_skip { NOTHING, HOLD, BELOW, THREAD_CWD, BOUND };

/* A thread with fs info of its own and its cwd in @dir, which stays
 * until the process ends. */
struct skip_thread {
	int pipe[2];
	char dir[4096];
};

static void *thread_in_skip(void *arg)
{
	struct skip_thread *t = arg;
	char byte = !unshare(CLONE_FS) && !chdir(t->dir) ? 'r' : 'f';

	if (write(t->pipe[1], &byte, 1) != 1)
		return NULL;
	for (;;)
		pause();
}

/* Makes @what in @skip; false with errno on failure. */
static bool put_in_skip(enum in_skip what, const char *skip)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	static struct skip_thread t;
	pthread_t thread;
	char byte = 0;
	int sk;

	if (what == BOUND) {
		if (strlen(skip) + sizeof("/sock") > sizeof(addr.sun_path)) {
			errno = ENAMETOOLONG;
			return false;
		}
		memcpy(addr.sun_path, skip, strlen(skip));
		strcat(addr.sun_path, "/sock");
		sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		return sk >= 0 && !bind(sk, (struct sockaddr *)&addr, sizeof(addr)) &&
		       !listen(sk, 1);
	}
	if (what != THREAD_CWD)
		return true;
	snprintf(t.dir, sizeof(t.dir), "%s", skip);
	return !pipe(t.pipe) && !pthread_create(&thread, NULL, thread_in_skip, &t) &&
	       read(t.pipe[0], &byte, 1) == 1 && byte == 'r';
}

static int mounts_main(enum in_skip extra)
{
	bool hold_skipped = extra == HOLD, below_skipped = extra == BELOW;
	char kept[4096], skip[4096], ram[4096], file[4200], buf[64] = "";
	int fd, held = -1;

	in_dir(kept, sizeof(kept), "kept");
	in_dir(skip, sizeof(skip), "skip");
	in_dir(ram, sizeof(ram), "ram");
	snprintf(file, sizeof(file), "%s/f", kept);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) || mkdir(kept, 0755) ||
	    mkdir(skip, 0755) || mkdir(ram, 0755) ||
	    mount("cryo-kept", kept, "tmpfs", 0, "size=1m") || !write_file(kept, "f", TEXT) ||
	    mount("cryo-skip", skip, "tmpfs", 0, "size=1m") || !write_file(skip, "f", "skip") ||
	    mount("cryo-ram", ram, "ramfs", 0, "mode=0750") || !write_file(ram, "f", "ram") ||
	    (below_skipped && (mkdir(strcat(skip, "/inner"), 0755) ||
			       mount("cryo-inner", skip, "tmpfs", 0, "size=1m"))) ||
	    !put_in_skip(extra, skip)) {
		prog_fail("setup: %s", strerror(errno));
		prog_finish();
	}
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (hold_skipped) {
		snprintf(file, sizeof(file), "%s/skip/f", prog_dir());
		held = open(file, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0 || (hold_skipped && held < 0)) {
		prog_fail("open: %s", strerror(errno));
		prog_finish();
	}
	prog_ready();
	prog_run_until_sigterm();
	PROG_CHECK(pread(fd, buf, sizeof(buf) - 1, 0) == (ssize_t)strlen(TEXT) && !strcmp(buf, TEXT),
		   "the fd on the kept tmpfs reads '%s'", buf);
	snprintf(file, sizeof(file), "%s/f", kept);
	close(fd);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	memset(buf, 0, sizeof(buf));
	PROG_CHECK(fd >= 0 && read(fd, buf, sizeof(buf) - 1) == (ssize_t)strlen(TEXT) &&
		   !strcmp(buf, TEXT), "%s reads '%s'", file, buf);
	prog_finish();
}

/* Sets @addr on the loopback under the label lo:1. */
static bool add_address(int s, const char *addr)
{
	struct ifreq ifr = { .ifr_name = "lo:1" };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	sin->sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin->sin_addr);
	return !ioctl(s, SIOCSIFADDR, &ifr);
}

static bool loopback_up(int s)
{
	struct ifreq ifr = { .ifr_name = "lo" };

	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		return false;
	ifr.ifr_flags |= IFF_UP;
	return !ioctl(s, SIOCSIFFLAGS, &ifr);
}

/* Whether @addr (read from the file "addr") is an address of the namespace. */
static void check_bindable(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char path[4200], addr[64] = "";
	int fd, s;
	ssize_t n;

	in_dir(path, sizeof(path), "addr");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, addr, sizeof(addr) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (!PROG_CHECK(n > 0 && inet_pton(AF_INET, strtok(addr, "\n"), &sin.sin_addr) == 1,
			"the runner wrote no address into %s", path))
		return;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	PROG_CHECK(s >= 0 && !bind(s, (struct sockaddr *)&sin, sizeof(sin)),
		   "cannot bind %s: %s (not an address of its namespace)", addr, strerror(errno));
	if (s >= 0)
		close(s);
}

static int net_main(void)
{
	struct sockaddr_in any = { .sin_family = AF_INET }, name, lo = { .sin_family = AF_INET };
	socklen_t len = sizeof(name);
	int ioc = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	in_port_t port;
	char buf[16] = "";

	if (ioc < 0 || s < 0 || !loopback_up(ioc) || !add_address(ioc, "10.55.0.1") ||
	    bind(s, (struct sockaddr *)&any, sizeof(any)) ||
	    getsockname(s, (struct sockaddr *)&name, &len)) {
		prog_fail("setup: %s", strerror(errno));
		prog_finish();
	}
	close(ioc);
	port = name.sin_port;
	prog_ready();
	prog_wait_sigterm();
	len = sizeof(name);
	PROG_CHECK(!getsockname(s, (struct sockaddr *)&name, &len) && name.sin_port == port,
		   "the socket's port is %u, not %u", ntohs(name.sin_port), ntohs(port));
	lo.sin_port = port;
	inet_pton(AF_INET, "127.0.0.1", &lo.sin_addr);
	PROG_CHECK(sendto(s, "ping", 4, 0, (struct sockaddr *)&lo, sizeof(lo)) == 4 &&
		   poll(&(struct pollfd){ .fd = s, .events = POLLIN }, 1, 5000) == 1 &&
		   recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT) == 4 && !strcmp(buf, "ping"),
		   "no datagram through the loopback: %s", strerror(errno));
	check_bindable();
	prog_finish();
}

int main(int argc, char **argv)
{
	static const char *const extras[] = { [HOLD] = "hold-skipped",
					       [BELOW] = "below-skipped",
					       [THREAD_CWD] = "thread-in-skipped",
					       [BOUND] = "bound-in-skipped" };
	enum in_skip extra = NOTHING;
	bool net = false;

	prog_init(argc, argv);
	for (int i = optind; i < argc; i++) {
		for (size_t k = HOLD; k < sizeof(extras) / sizeof(extras[0]); k++)
			if (!strcmp(argv[i], extras[k]))
				extra = (enum in_skip)k;
		net |= !strcmp(argv[i], "net");
	}
	return net ? net_main() : mounts_main(extra);
}
