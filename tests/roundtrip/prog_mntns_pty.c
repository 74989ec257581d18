/* Round-trip program: ptys of devpts instances of a tree's own, in a mount
 * namespace of its own. Instance A on /dev/pts with /dev/ptmx bound to its
 * ptmx, as a container has it (mode=0600,ptmxmode=0666,gid=5,max=16),
 * holding pty 1 (0 was closed); instance B at PROG_DIR/pts
 * (mode=0640,ptmxmode=0600,max=8) holding pty 0. After restore each pair
 * is at its index in its instance (not the caller's), with its termios
 * and unread bytes both ways, each instance has its options, and a pty
 * opened through /dev/ptmx lands in A. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "prog.h"

#define A_OPTS "mode=600,ptmxmode=666,gid=5,max=16"
#define B_OPTS "mode=640,ptmxmode=600,max=8"
#define TO_SLAVE "to the slave"
#define TO_MASTER "to the master"

static char b_dir[4096];

struct pair {
	int master, slave;
	unsigned int index;
};

static void __attribute__((noreturn)) die(const char *what)
{
	prog_fail("setup: %s: %s", what, strerror(errno));
	prog_finish();
}

/* A pair through @ptmx, its slave opened by path in @dir, raw, with
 * bytes queued both ways. */
static void open_pair(const char *ptmx, const char *dir, struct pair *p)
{
	char slave[4200];
	struct termios tio;
	int unlock = 0;

	p->master = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->master < 0 || ioctl(p->master, TIOCSPTLCK, &unlock) ||
	    ioctl(p->master, TIOCGPTN, &p->index))
		die(ptmx);
	snprintf(slave, sizeof(slave), "%s/%u", dir, p->index);
	p->slave = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->slave < 0 || tcgetattr(p->slave, &tio))
		die(slave);
	cfmakeraw(&tio);
	tio.c_cc[VMIN] = 0;
	tio.c_cc[VTIME] = 0;
	if (tcsetattr(p->slave, TCSANOW, &tio) ||
	    write(p->master, TO_SLAVE, strlen(TO_SLAVE)) != (ssize_t)strlen(TO_SLAVE) ||
	    write(p->slave, TO_MASTER, strlen(TO_MASTER)) != (ssize_t)strlen(TO_MASTER))
		die("termios or bytes");
}

/* Whether the devpts mount on @target shows every option of @opts. */
static void check_options(const char *target, const char *opts)
{
	char line[4096], mp[4096], copy[256], found[4096];
	FILE *mi = fopen("/proc/self/mountinfo", "re");
	const char *super = NULL;

	/* The last one: the mount on top. */
	while (mi && fgets(line, sizeof(line), mi))
		if (sscanf(line, "%*d %*d %*s %*s %4095s", mp) == 1 && !strcmp(mp, target) &&
		    strstr(line, " - devpts ")) {
			snprintf(found, sizeof(found), "%s", strstr(line, " - devpts "));
			super = found;
		}
	if (mi)
		fclose(mi);
	if (!PROG_CHECK(super, "no devpts mount on %s", target))
		return;
	snprintf(copy, sizeof(copy), "%s", opts);
	for (char *save, *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		char want[64];

		snprintf(want, sizeof(want), ",%s", o);
		PROG_CHECK(strstr(super, want), "the devpts on %s lacks %s (%s)", target, o, super);
	}
}

static void check_pair(const struct pair *p, const char *dir, unsigned int index)
{
	struct stat node, slave, instance;
	struct termios tio;
	unsigned int now = ~0u;
	char path[4200], buf[64] = "";
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%u", dir, index);
	PROG_CHECK(!ioctl(p->master, TIOCGPTN, &now) && now == index, "%s: the pty is %u, not %u",
		   dir, now, index);
	PROG_CHECK(!fstat(p->slave, &slave) && !stat(dir, &instance) &&
		   slave.st_dev == instance.st_dev, "%s: the slave is not in that instance", dir);
	PROG_CHECK(!stat(path, &node) && node.st_rdev == slave.st_rdev, "%s is not the slave",
		   path);
	PROG_CHECK(!tcgetattr(p->slave, &tio) && !(tio.c_lflag & (ICANON | ECHO)) &&
		   !(tio.c_oflag & OPOST), "%s: the termios were not kept", path);
	n = read(p->slave, buf, sizeof(buf) - 1);
	PROG_CHECK(n == (ssize_t)strlen(TO_SLAVE) && !memcmp(buf, TO_SLAVE, (size_t)n),
		   "%s: the slave reads '%.*s'", path, (int)(n > 0 ? n : 0), buf);
	n = read(p->master, buf, sizeof(buf) - 1);
	PROG_CHECK(n == (ssize_t)strlen(TO_MASTER) && !memcmp(buf, TO_MASTER, (size_t)n),
		   "%s: the master reads '%.*s'", path, (int)(n > 0 ? n : 0), buf);
}

int main(int argc, char **argv)
{
	struct pair a, b, first;
	struct stat st, pts;
	char b_ptmx[4200];
	int late;

	prog_init(argc, argv);
	snprintf(b_dir, sizeof(b_dir), "%s/pts", prog_dir());
	snprintf(b_ptmx, sizeof(b_ptmx), "%s/ptmx", b_dir);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		die("private");
	if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance," A_OPTS) ||
	    mount("/dev/pts/ptmx", "/dev/ptmx", NULL, MS_BIND, NULL))
		die("instance A on /dev/pts");
	if (mkdir(b_dir, 0755) ||
	    mount("devpts", b_dir, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance," B_OPTS))
		die("instance B");
	/* Pty 0 of A is closed again: A's pair is at index 1. */
	open_pair("/dev/ptmx", "/dev/pts", &first);
	open_pair("/dev/ptmx", "/dev/pts", &a);
	close(first.master);
	close(first.slave);
	open_pair(b_ptmx, b_dir, &b);
	if (a.index != 1 || b.index != 0) {
		prog_fail("setup: indices %u and %u, not 1 and 0", a.index, b.index);
		prog_finish();
	}
	prog_ready();
	prog_wait_sigterm();

	check_pair(&a, "/dev/pts", 1);
	check_pair(&b, b_dir, 0);
	check_options("/dev/pts", A_OPTS);
	check_options(b_dir, B_OPTS);
	/* A's slave nodes get its mode. */
	PROG_CHECK(!stat("/dev/pts/1", &st) && (st.st_mode & 0777) == 0600,
		   "/dev/pts/1 has mode %o", st.st_mode & 0777);
	/* /dev/ptmx still leads to A. */
	late = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (PROG_CHECK(late >= 0, "/dev/ptmx: %s", strerror(errno))) {
		int peer = ioctl(late, TIOCGPTPEER, O_PATH | O_CLOEXEC);

		PROG_CHECK(peer >= 0 && !fstat(peer, &st) && !stat("/dev/pts", &pts) &&
			   st.st_dev == pts.st_dev, "a new pty is not in the instance on /dev/pts");
	}
	prog_finish();
}
