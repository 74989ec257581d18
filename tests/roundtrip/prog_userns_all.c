/* Round-trip program: a tree as root in a user namespace of its own with
 * UTS, IPC, network, mount and cgroup namespaces that belong to it (the
 * runner unshares them together). After restore each of them still belongs to its
 * user namespace, and root inside still rules them: it renames the host,
 * takes the loopback down and up, makes a SysV semaphore set and mounts a
 * tmpfs, in its process and in a child. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/nsfs.h>

#include "prog.h"

static bool owned_by_own_userns(const char *who)
{
	static const char *const kinds[] = { "uts", "ipc", "net", "mnt", "cgroup" };
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

static bool lo_flip(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok = s >= 0 && !ioctl(s, SIOCGIFFLAGS, &ifr);

	ifr.ifr_flags &= ~IFF_UP;
	ok = ok && !ioctl(s, SIOCSIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	ok = ok && !ioctl(s, SIOCSIFFLAGS, &ifr);
	if (s >= 0)
		close(s);
	return ok;
}

/* What root inside may do in namespaces of its own user namespace. */
static bool rules_them(const char *who, const char *host)
{
	char dir[4096];
	int sem;

	snprintf(dir, sizeof(dir), "%s/mnt-%s", prog_dir(), who);
	if (!owned_by_own_userns(who))
		return false;
	if (sethostname(host, strlen(host)))
		return prog_fail("%s: sethostname: %s", who, strerror(errno));
	if (!lo_flip())
		return prog_fail("%s: cannot take lo down and up: %s", who, strerror(errno));
	sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	if (sem < 0 || semctl(sem, 0, IPC_RMID))
		return prog_fail("%s: a semaphore set: %s", who, strerror(errno));
	if ((mkdir(dir, 0700) && errno != EEXIST) || mount("t", dir, "tmpfs", 0, "size=64k") ||
	    umount(dir) || rmdir(dir))
		return prog_fail("%s: cannot mount a tmpfs on %s: %s", who, dir, strerror(errno));
	return true;
}

int main(int argc, char **argv)
{
	int ready[2], status = 0;
	pid_t child;
	char byte;

	prog_init(argc, argv);
	if (!rules_them("parent", "cryo-userns-all")) {
		prog_fail("not started in namespaces of its own user namespace");
		prog_finish();
	}
	if (pipe(ready))
		prog_finish();
	child = fork();
	if (child == 0) {
		prog_child_ready(ready);
		prog_wait_sigterm();
		_exit(rules_them("child", "cryo-userns-child") ? 0 : 1);
	}
	close(ready[1]);
	while (read(ready[0], &byte, 1) > 0)
		;
	close(ready[0]);
	prog_ready();
	prog_wait_sigterm();
	rules_them("parent", "cryo-userns-parent");
	kill(child, SIGTERM);
	PROG_CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 0, "the child's checks failed (status %#x)", status);
	prog_finish();
}
