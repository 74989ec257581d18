/* Round-trip program: a whole container, as `unshare --fork --pid --mount
 * --net --uts --ipc --cgroup --user --map-root-user --mount-proc` makes it
 * (the runner clones it with the user and pid namespaces together): pid 1
 * with a /proc of its own, a file on a private tmpfs, a UDP service on the
 * loopback with a datagram queued, a child and a thread (its tid chosen
 * inside the pid namespace). After restore every
 * namespace (pid and pid_for_children too) still belongs to its user
 * namespace, in the init and in the child, and the service, file and child
 * are as they were, and the thread has its tid. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/nsfs.h>

#include "prog.h"

#define TEXT "the container's file"
#define DATAGRAM "queued in the container"

static bool owned_by_own_userns(const char *who)
{
	static const char *const kinds[] = { "uts", "ipc", "net", "mnt", "cgroup", "pid",
					     "pid_for_children" };
	struct stat user, owner;
	char path[64];

	if (stat("/proc/self/ns/user", &user))
		return prog_fail("%s: stat its user namespace: %s", who, strerror(errno));
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int fd, got;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", kinds[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		got = fd < 0 ? -1 : ioctl(fd, NS_GET_USERNS);
		if (got < 0 || fstat(got, &owner))
			return prog_fail("%s: the owner of its %s namespace: %s", who, kinds[i],
					 strerror(errno));
		close(got);
		close(fd);
		if (!PROG_CHECK(owner.st_ino == user.st_ino, "%s: its %s namespace belongs to "
				"user:[%lu], not its own user:[%lu]", who, kinds[i],
				(unsigned long)owner.st_ino, (unsigned long)user.st_ino))
			return false;
	}
	return true;
}

/* Its /proc is its pid namespace's: it is pid 1 there. */
static bool own_proc_says(pid_t pid)
{
	char link[32] = "";
	ssize_t n = readlink("/proc/self", link, sizeof(link) - 1);

	if (n > 0)
		link[n] = '\0';
	return PROG_CHECK(n > 0 && atoi(link) == pid && getpid() == pid,
			  "/proc/self is '%s', getpid() %d, not %d", link, getpid(), pid);
}

static bool file_holds(int fd, const char *path)
{
	char buf[64] = "";
	int by_path = open(path, O_RDONLY | O_CLOEXEC);
	bool ok = pread(fd, buf, sizeof(buf) - 1, 0) == (ssize_t)strlen(TEXT) &&
		  !strcmp(buf, TEXT);

	memset(buf, 0, sizeof(buf));
	ok = PROG_CHECK(ok, "the tmpfs file's fd reads '%s'", buf) && by_path >= 0 &&
	     read(by_path, buf, sizeof(buf) - 1) == (ssize_t)strlen(TEXT) && !strcmp(buf, TEXT);
	if (by_path >= 0)
		close(by_path);
	return PROG_CHECK(ok, "%s reads '%s' (%s)", path, buf, strerror(errno));
}

/* The loopback up and a UDP socket on it with one datagram to itself. */
static int udp_service(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(4321) };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr))
		return -1;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
	    sendto(s, DATAGRAM, strlen(DATAGRAM), 0, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	return s;
}

static volatile int stop;

/* Its tid when it began; it ends when told, with its tid then. */
static void *thread_main(void *tid_at_start)
{
	*(pid_t *)tid_at_start = (pid_t)syscall(SYS_gettid);
	while (!stop)
		usleep(1000);
	return (void *)(long)syscall(SYS_gettid);
}

int main(int argc, char **argv)
{
	static pid_t thread_tid;
	pthread_t thread;
	void *tid_at_end = NULL;
	char dir[4096], path[4200], buf[64] = "";
	int ready[2], status = 0, fd, udp;
	pid_t child;
	char byte;

	prog_init(argc, argv);
	snprintf(dir, sizeof(dir), "%s/ctmp", prog_dir());
	snprintf(path, sizeof(path), "%s/data", dir);
	/* As --mount-proc does; the mounts must not reach the runner's. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) ||
	    mkdir(dir, 0700) || mount("ctmp", dir, "tmpfs", 0, "size=64k,mode=700")) {
		prog_fail("cannot mount its /proc and a tmpfs: %s", strerror(errno));
		prog_finish();
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	udp = udp_service();
	if (fd < 0 || write(fd, TEXT, strlen(TEXT)) != (ssize_t)strlen(TEXT) || udp < 0 ||
	    !owned_by_own_userns("init") || !own_proc_says(1)) {
		prog_fail("not started as a container: %s", strerror(errno));
		prog_finish();
	}
	if (pipe(ready))
		prog_finish();
	child = fork();
	if (child > 0 && pthread_create(&thread, NULL, thread_main, &thread_tid)) {
		prog_fail("pthread_create failed");
		prog_finish();
	}
	if (child == 0) {
		prog_child_ready(ready);
		prog_wait_sigterm();
		_exit(owned_by_own_userns("child") && own_proc_says(2) && file_holds(fd, path) ?
			      0 : 1);
	}
	close(ready[1]);
	while (read(ready[0], &byte, 1) > 0)
		;
	close(ready[0]);
	while (!thread_tid)
		usleep(1000);
	prog_ready();
	prog_wait_sigterm();
	owned_by_own_userns("init");
	own_proc_says(1);
	file_holds(fd, path);
	PROG_CHECK(recv(udp, buf, sizeof(buf) - 1, MSG_DONTWAIT) == (ssize_t)strlen(DATAGRAM) &&
			   !strcmp(buf, DATAGRAM),
		   "the queued datagram reads '%s' (%s)", buf, strerror(errno));
	stop = 1;
	PROG_CHECK(!pthread_join(thread, &tid_at_end) && (pid_t)(long)tid_at_end == thread_tid,
		   "the thread ends as tid %ld, began as %d", (long)tid_at_end, thread_tid);
	kill(child, SIGTERM);
	PROG_CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
			   WEXITSTATUS(status) == 0,
		   "the child's checks failed (status %#x)", status);
	prog_finish();
}
