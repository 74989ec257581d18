/* Fd tables shared between processes (CLONE_FILES) at restore. A child
 * that shared its parent's table is created with CLONE_FILES; the first
 * process of such a group (the owner, the one that shares with no parent)
 * restores the table and does every bulk close in it. Inside stage 2 the
 * group is ordered through futex words in memory cryo mapped shared
 * before creating the tree:
 *   owner: restores the fds, marks the table ready;
 *   members: wait for that, open the files of their mappings (above
 *     every fd cryo handed down, so that no bulk close reaches them) and
 *     a report pipe fd of their own (at top + their index, where cryo
 *     finds it to close it), then count themselves as done;
 *   owner: waits for all of them, then closes cryo's fds, keeping those
 *     any member still needs (the report pipe, the gate, each one's pages).
 * In the restorer each process closes only fds of its own. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "restore/restore.h"

/* Per process of the tree, used only where it is an owner. */
struct shared_table_sync {
	uint32_t ready;		/* 1 once its table is restored */
	uint32_t opened;	/* members that opened what they need */
};

static bool shares(const struct tree *tree, size_t index, bool fs)
{
	return fs ? tree->tasks[index].shares_fs : tree->tasks[index].shares_files;
}

size_t share_group_owner(const struct tree *tree, size_t index, bool fs)
{
	while (shares(tree, index, fs))
		index = (size_t)tree->tasks[index].parent;
	return index;
}

size_t share_group_members(const struct tree *tree, size_t owner, bool fs)
{
	size_t n = 0;

	for (size_t i = owner + 1; i < tree->nr; i++)
		n += shares(tree, i, fs) && share_group_owner(tree, i, fs) == owner;
	return n;
}

/* The highest fd cryo has open, which every process inherits. */
static int highest_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int high = -1;

	if (!d)
		return pr_errno_ret("restore: cannot list cryo's fds (/proc/self/fd)");
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) > high && atoi(e->d_name) != dirfd(d))
			high = atoi(e->d_name);
	closedir(d);
	return high;
}

int shared_table_setup(struct restore_set *rs)
{
	bool any = false;
	int high;

	for (size_t i = 0; i < rs->tree.nr; i++)
		any |= rs->tree.tasks[i].shares_files;
	if (!any)
		return 0;
	high = highest_fd();
	if (high < 0)
		return high;
	rs->top = high + 1 > rs->base ? high + 1 : rs->base;
	rs->sync = mmap(NULL, rs->tree.nr * sizeof(*rs->sync), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rs->sync == MAP_FAILED) {
		rs->sync = NULL;
		return pr_errno_ret("restore: cannot map the words that order shared fd tables");
	}
	return 0;
}

void shared_table_teardown(struct restore_set *rs)
{
	if (rs->sync)
		munmap(rs->sync, rs->tree.nr * sizeof(*rs->sync));
	rs->sync = NULL;
}

static void wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/* Until *@word reaches @want. A process that fails instead is seen by
 * cryo, which then kills the whole tree, waiters included. */
static void wait_for(uint32_t *word, uint32_t want)
{
	for (;;) {
		uint32_t now = __atomic_load_n(word, __ATOMIC_ACQUIRE);

		if (now >= want)
			return;
		syscall(SYS_futex, word, FUTEX_WAIT, now, NULL, NULL, 0);
	}
}

void shared_table_mark_ready(const struct restore_set *rs, size_t owner)
{
	__atomic_store_n(&rs->sync[owner].ready, 1, __ATOMIC_RELEASE);
	wake(&rs->sync[owner].ready);
}

void shared_table_wait_ready(const struct restore_set *rs, size_t owner)
{
	wait_for(&rs->sync[owner].ready, 1);
}

void shared_table_mark_opened(const struct restore_set *rs, size_t owner)
{
	__atomic_add_fetch(&rs->sync[owner].opened, 1, __ATOMIC_ACQ_REL);
	wake(&rs->sync[owner].opened);
}

void shared_table_wait_opened(const struct restore_set *rs, size_t owner, size_t members)
{
	wait_for(&rs->sync[owner].opened, (uint32_t)members);
}

int shared_table_report_fd(const struct restore_set *rs, size_t index)
{
	return rs->tree.tasks[index].shares_files ? rs->top + (int)index : rs->report_fd;
}

int shared_table_open_base(const struct restore_set *rs)
{
	return rs->top + (int)rs->tree.nr;
}

int shared_table_own_report_fd(struct restore_set *rs, size_t index)
{
	int fd = shared_table_report_fd(rs, index);

	if (dup3(rs->report_fd, fd, O_CLOEXEC) != fd)
		return pr_errno_ret("restore: pid %d: cannot copy the report pipe fd to %d",
				    rs->tree.tasks[index].pid, fd);
	rs->report_fd = fd;
	return 0;
}
