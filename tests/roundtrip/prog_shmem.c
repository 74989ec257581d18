/* Memory shared by the processes of a tree: two regions of anonymous
 * MAP_SHARED memory inherited over fork and a SysV segment, all three
 * shared by a parent and its two children.
 *   - region A (4 pages): child 1 unmaps page 1 and moves page 3 to an
 *     address of its own (mremap), so it maps A in three pieces;
 *   - region B (2 pages): child 2 makes it read-only;
 *   - the segment (3 pages and a bit, with a key): the parent and child 1
 *     keep the attachment they share over fork, child 2 attaches it again
 *     with SHM_RDONLY, and the parent marks it removed (IPC_RMID) once all
 *     are attached, so it goes away with the last of them.
 * On SIGTERM each process checks the bytes and its /proc/self/maps lines
 * of these mappings (names, offsets, protections), and the segment's id,
 * size, mode and attach count; then the children write into A and the
 * parent into B and the segment, and each checks that the others' writes
 * reach it: the memory is shared again, not copied. And a segment of
 * 1 TiB made with SHM_NORESERVE (more than this machine could reserve),
 * attached by the parent alone and marked removed, with two bytes written
 * far apart: it comes back, its size and bytes as they were. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define PAGE 4096UL
#define A_PAGES 4
#define B_PAGES 2
#define SEG_SIZE (3 * PAGE + 100)
#define MSG_SIZE 256

static char *region_a, *region_b, *seg;
static char *child1_page3;		/* child 1's page 3 of A, moved */
static char *child2_seg;		/* child 2's read-only attachment */
static int seg_id;
static key_t seg_key;
static char maps_before[4096];
static struct shmid_ds seg_before;

/* Commands to each child and one pipe of replies from both. */
static int to_child[2][2], replies[2];
/* The first failed check of this process: a child sends it as its reply. */
static char why[MSG_SIZE];

/* Whether a segment other than ours now has our segment's key. */
static bool key_taken_by_another(void)
{
	int other = shmget(seg_key, 0, 0);

	return other >= 0 && other != seg_id;
}

static bool note(const char *fmt, ...)
{
	va_list ap;

	if (why[0])
		return false;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return false;
}

#define CHECK(cond, fmt, ...) ((cond) ? true : note("pid %d: " fmt, getpid(), ##__VA_ARGS__))

static uint8_t pattern(int region, size_t off)
{
	return (uint8_t)(region * 31 + off * 7 + off / PAGE);
}

static void fill(char *p, size_t len, int region)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (char)pattern(region, i);
}

/* Whether @len bytes at @p, which are bytes @off.. of @region, are intact. */
static bool intact(const char *p, size_t off, size_t len, int region)
{
	for (size_t i = 0; i < len; i++)
		if ((uint8_t)p[i] != pattern(region, off + i))
			return note("pid %d: region %d byte %zu is %#x, not %#x", getpid(), region, off + i,
					 (uint8_t)p[i], pattern(region, off + i));
	return true;
}

static bool in(uint64_t start, const void *p, size_t len)
{
	return p && start >= (uint64_t)(uintptr_t)p && start < (uint64_t)(uintptr_t)p + len;
}

/* This process's maps lines of the shared mappings: address, protection,
 * offset and name; for SysV the inode (the segment's id) too. The inode
 * of anonymous shared memory is new after a restore, so it is left out. */
static void shared_maps(char *out, size_t size)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	size_t used = 0;

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long start, end, pgoff, ino;
		char perms[8], name[256] = "";

		if (sscanf(line, "%lx-%lx %7s %lx %*s %lu %255[^\n]", &start, &end, perms, &pgoff,
			   &ino, name) < 5)
			continue;
		if (!in(start, region_a, A_PAGES * PAGE) && !in(start, region_b, B_PAGES * PAGE) &&
		    !in(start, seg, SEG_SIZE) && !in(start, child1_page3, PAGE) &&
		    !in(start, child2_seg, SEG_SIZE))
			continue;
		if (strncmp(name, "/SYSV", 5))
			ino = 0;
		/* Removed, the segment's key is private: when another segment
		 * took the key before a restore, restore makes ours without
		 * one, and the kernel names it so. */
		else if (!strcmp(name, "/SYSV00000000 (deleted)") && key_taken_by_another())
			snprintf(name, sizeof(name), "/SYSV%08x (deleted)", (unsigned int)seg_key);
		used += snprintf(out + used, size - used, "%lx-%lx %s %lx %lu %s\n", start, end,
				 perms, pgoff, ino, name);
		if (used >= size)
			break;
	}
	if (f)
		fclose(f);
}

static bool maps_unchanged(void)
{
	char now[sizeof(maps_before)];

	shared_maps(now, sizeof(now));
	return CHECK(!strcmp(now, maps_before), "maps were\n%s\nand are now\n%s", maps_before,
		     now);
}

static void send_msg(int fd, const char *fmt, ...)
{
	char msg[MSG_SIZE] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (write(fd, msg, sizeof(msg)) != sizeof(msg))
		_exit(3);
}

static bool recv_msg(int fd, char *msg)
{
	size_t got = 0;

	while (got < MSG_SIZE) {
		ssize_t n = read(fd, msg + got, MSG_SIZE - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	msg[MSG_SIZE - 1] = '\0';
	return true;
}

static bool child1_own_checks(void)
{
	return intact(region_a, 0, PAGE, 1) && intact(region_a + 2 * PAGE, 2 * PAGE, PAGE, 1) &&
	       intact(child1_page3, 3 * PAGE, PAGE, 1) && intact(region_b, 0, B_PAGES * PAGE, 2) &&
	       intact(seg, 0, SEG_SIZE, 3) && maps_unchanged();
}

static bool child2_own_checks(void)
{
	return intact(region_a, 0, A_PAGES * PAGE, 1) && intact(region_b, 0, B_PAGES * PAGE, 2) &&
	       intact(child2_seg, 0, SEG_SIZE, 3) && maps_unchanged();
}

/* A child waits for commands: "check", "write", "verify", then exits. */
static void __attribute__((noreturn)) child_loop(int who)
{
	char cmd[MSG_SIZE];
	int in_fd = to_child[who - 1][0];

	/* Until SIGTERM reaches the parent, a child only waits here. */
	while (recv_msg(in_fd, cmd)) {
		if (!strcmp(cmd, "check")) {
			bool ok = who == 1 ? child1_own_checks() : child2_own_checks();

			send_msg(replies[1], "%s", ok ? "OK" : why);
		} else if (!strcmp(cmd, "write")) {
			if (who == 1) {
				region_a[0] = 'x';
				child1_page3[0] = 'y';
			} else {
				region_a[2 * PAGE] = 'z';
			}
			send_msg(replies[1], "OK");
		} else if (!strcmp(cmd, "verify")) {
			const char *s = who == 1 ? seg : child2_seg;

			if (region_b[0] == 'b' && s[5] == 's' && s[3 * PAGE + 50] == 't')
				send_msg(replies[1], "OK");
			else
				send_msg(replies[1], "child %d does not see the parent's writes "
					 "(B %#x, segment %#x %#x)", who, (uint8_t)region_b[0],
					 (uint8_t)s[5], (uint8_t)s[3 * PAGE + 50]);
			_exit(0);
		}
	}
	_exit(1);
}

/* Sends @cmd to both children; true when both answer OK. */
static bool ask_children(const char *cmd)
{
	char answer[MSG_SIZE];
	bool ok = true;

	for (int i = 0; i < 2; i++)
		send_msg(to_child[i][1], "%s", cmd);
	for (int i = 0; i < 2; i++) {
		if (!recv_msg(replies[0], answer))
			return note("a child did not answer '%s'", cmd);
		if (strcmp(answer, "OK"))
			ok = note("'%s': %s", cmd, answer);
	}
	return ok;
}

static bool segment_unchanged(void)
{
	struct shmid_ds now;

	if (!CHECK(shmctl(seg_id, IPC_STAT, &now) == 0, "segment %d: %s", seg_id, strerror(errno)))
		return false;
	return CHECK(now.shm_segsz == seg_before.shm_segsz, "segment size %zu, was %zu",
		     now.shm_segsz, seg_before.shm_segsz) &&
	       CHECK(now.shm_perm.mode == seg_before.shm_perm.mode, "segment mode %o, was %o",
		     now.shm_perm.mode, seg_before.shm_perm.mode) &&
	       CHECK(now.shm_perm.uid == seg_before.shm_perm.uid &&
			     now.shm_perm.gid == seg_before.shm_perm.gid,
		     "segment owner changed") &&
	       CHECK(now.shm_nattch == seg_before.shm_nattch, "%lu attachments, were %lu",
		     (unsigned long)now.shm_nattch, (unsigned long)seg_before.shm_nattch);
}

static pid_t start_child(int who)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (who == 1) {
		char *moved = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (munmap(region_a + PAGE, PAGE) ||
		    mremap(region_a + 3 * PAGE, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, moved) !=
			    moved)
			_exit(4);
		child1_page3 = moved;
	} else {
		if (mprotect(region_b, B_PAGES * PAGE, PROT_READ) || shmdt(seg))
			_exit(5);
		seg = NULL;
		child2_seg = shmat(seg_id, NULL, SHM_RDONLY);
		if (child2_seg == (void *)-1)
			_exit(6);
	}
	shared_maps(maps_before, sizeof(maps_before));
	if (!strstr(maps_before, "/dev/zero (deleted)") || !strstr(maps_before, "/SYSV"))
		_exit(7);
	send_msg(replies[1], "OK");
	child_loop(who);
}

#define HUGE_SEG_SIZE (1ull << 40)
#define HUGE_SEG_FAR (HUGE_SEG_SIZE / 2 + 12345)

/* The 1 TiB SHM_NORESERVE segment, attached and marked removed. */
static char *make_noreserve_segment(int *id)
{
	char *at;

	*id = shmget(IPC_PRIVATE, HUGE_SEG_SIZE, IPC_CREAT | SHM_NORESERVE | 0600);
	if (*id < 0)
		return NULL;
	at = shmat(*id, NULL, 0);
	if (shmctl(*id, IPC_RMID, NULL) || at == (void *)-1)
		return NULL;
	at[0] = 'n';
	at[HUGE_SEG_FAR] = 'r';
	return at;
}

static bool noreserve_segment_intact(int id, const char *at)
{
	struct shmid_ds ds;

	return CHECK(!shmctl(id, IPC_STAT, &ds) && ds.shm_segsz == HUGE_SEG_SIZE &&
			     at[0] == 'n' && at[HUGE_SEG_FAR] == 'r' && at[HUGE_SEG_FAR + 1] == 0,
		     "the 1 TiB SHM_NORESERVE segment %d is not as it was", id);
}

int main(int argc, char **argv)
{
	char *noreserve;
	int noreserve_id;
	char answer[MSG_SIZE];
	pid_t kids[2];
	bool ok;

	prog_init(argc, argv);
	region_a = mmap(NULL, A_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			-1, 0);
	region_b = mmap(NULL, B_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			-1, 0);
	seg_key = (key_t)(0x5e000000 | getpid());
	seg_id = shmget(seg_key, SEG_SIZE, IPC_CREAT | IPC_EXCL | 0640);
	if (region_a == MAP_FAILED || region_b == MAP_FAILED || seg_id < 0)
		return 1;
	seg = shmat(seg_id, NULL, 0);
	if (seg == (void *)-1)
		return 1;
	fill(region_a, A_PAGES * PAGE, 1);
	fill(region_b, B_PAGES * PAGE, 2);
	fill(seg, SEG_SIZE, 3);
	if (pipe(to_child[0]) || pipe(to_child[1]) || pipe(replies))
		return 1;
	for (int i = 0; i < 2; i++) {
		kids[i] = start_child(i + 1);
		if (kids[i] < 0 || !recv_msg(replies[0], answer))
			return 1;
	}
	/* Every attachment exists: the segment goes with the last of them. */
	if (shmctl(seg_id, IPC_RMID, NULL) || shmctl(seg_id, IPC_STAT, &seg_before))
		return 1;
	noreserve = make_noreserve_segment(&noreserve_id);
	if (!noreserve)
		return 1;
	shared_maps(maps_before, sizeof(maps_before));
	/* The maps check must have lines to compare. */
	if (!strstr(maps_before, "/dev/zero (deleted)") || !strstr(maps_before, "/SYSV"))
		return 1;
	prog_ready();
	prog_wait_sigterm();

	ok = intact(region_a, 0, A_PAGES * PAGE, 1) && intact(region_b, 0, B_PAGES * PAGE, 2) &&
	     intact(seg, 0, SEG_SIZE, 3) && maps_unchanged() && segment_unchanged() &&
	     noreserve_segment_intact(noreserve_id, noreserve);
	if (ok)
		ok = ask_children("check");
	if (ok)
		ok = ask_children("write");
	if (ok)
		ok = CHECK(region_a[0] == 'x' && region_a[3 * PAGE] == 'y' &&
				   region_a[2 * PAGE] == 'z',
			   "the children's writes into A do not reach the parent (%#x %#x %#x)",
			   (uint8_t)region_a[0], (uint8_t)region_a[3 * PAGE],
			   (uint8_t)region_a[2 * PAGE]);
	if (ok) {
		region_b[0] = 'b';
		seg[5] = 's';
		seg[3 * PAGE + 50] = 't';
		ok = ask_children("verify");
	}
	if (!ok)
		prog_fail("%s", why);
	for (int i = 0; i < 2; i++) {
		int status;

		if (!ok)
			kill(kids[i], SIGKILL);
		if (waitpid(kids[i], &status, 0) != kids[i])
			prog_fail("cannot reap child %d", kids[i]);
		else if (ok && status != 0)
			prog_fail("child %d ended with status %#x", kids[i], status);
	}
	prog_finish();
}
