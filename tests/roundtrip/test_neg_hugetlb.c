/* Negative tests (test_negative.c says what they check): a restore of
 * hugetlb memory (prog_hugetlb; a SysV segment of huge pages, attached or
 * not) when the pool of huge pages is too small fails before anything is
 * made, naming a mapping (or the segment), the pages needed and the sysctl
 * to raise, leaves nothing behind, and the same images restore once the
 * pool is large enough again; a restore once the hugetlbfs mount
 * of its files is gone fails naming a file, and leaves nothing behind. The
 * pool (vm.nr_hugepages) is put back to its old size and the program's
 * hugetlbfs mount unmounted, also when a check fails. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/types.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "hugepages_util.h"
#include "image_util.h"
#include "runner_util.h"

/* prog_hugetlb's need at restore: 17 pages (10 of MAP_HUGETLB memory and
 * memfds, the child's copy of a private page its own then; 2 of its SysV
 * segment; 2 of a private mapping of a hugetlbfs file, 3 of its deleted
 * files), while the files left on its mount hold 4. */
#define POOL 26

/* Unmounts prog_hugetlb's hugetlbfs first (else its folder, a mount
 * point, would stay behind when end_prog() removes the program's folder),
 * ends the program (its pages go back to the pool with its last
 * reference), then puts the pool back to @old unless it is -1. */
static void end_and_put_back(struct prog *p, long old)
{
	char mnt[PATH_MAX];

	if (p->dir[0]) {
		pathf(mnt, "%s/huge", p->dir);
		umount2(mnt, MNT_DETACH);
	}
	end_prog(p);
	if (old >= 0)
		CHECK(hugepages_set(old), "cannot put %s back to %ld", NR_HUGEPAGES, old);
}

TEST(restore_without_enough_huge_pages_names_the_need_and_leaves_nothing)
{
	char img[PATH_MAX], key[96];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid;
	long old = -1, small;

	CHECK_GOTO(hugepages_raise(POOL, &old), out, "cannot raise %s to %d pages", NR_HUGEPAGES,
		   POOL);
	CHECK_GOTO(make_image(&p, "prog_hugetlb", img, &image_pid), out, "%s", why);
	/* Its child, killed by the dump too, came back to us. */
	CHECK_GOTO(reap_all_children(WAIT_MS), out, "the dumped child did not end");
	/* Two pages left for the restore beside what the files hold. */
	small = hugepages_read() - hugepages_available() + 2;
	CHECK_GOTO(hugepages_set(small), out, "cannot shrink %s to %ld pages", NR_HUGEPAGES,
		   small);
	snprintf(key, sizeof(key), "restore: pid %d vma ", image_pid);
	CHECK_GOTO(restore_refused(&p, img, image_pid, "a pool 2 huge pages short", key,
				   "needs 17 huge pages of 2048 kB (34 MiB), only 2 are free: raise "
				   "/proc/sys/vm/nr_hugepages"),
		   out, "%s", why);
	CHECK_GOTO(hugepages_read() == small && hugepages_available() == 2, out,
		   "the failed restore left the pool at %ld, %ld free", hugepages_read(),
		   hugepages_available());

	/* The same images, with the pool back. */
	CHECK_GOTO(hugepages_set(POOL), out, "cannot raise %s to %d pages again", NR_HUGEPAGES,
		   POOL);
	prog_cryo(&r, &p, "restore", "-D", img, "-d");
	CHECK_GOTO(r.status == 0, out, "restore with %d pages failed (%d): %s", POOL, r.status,
		   r.out);
	p.pid = image_pid;
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_and_put_back(&p, old);
}

/* A SysV segment of one huge page (neg_sysv_shm_hugetlb), attached or only
 * in the tree's own IPC namespace: with no free page in the pool, the
 * restore fails before anything is made, naming the mapping (@key) or the
 * segment, and once the pool has the page the same images restore. */
static void sysv_needs_its_page(const char *name, const char *key_fmt)
{
	char img[PATH_MAX], key[96];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid;
	long old = -1, none;

	CHECK_GOTO(hugepages_raise(2, &old), out, "cannot raise %s to 2 pages", NR_HUGEPAGES);
	none = hugepages_read() - hugepages_available();
	CHECK_GOTO(make_image(&p, name, img, &image_pid), out, "%s", why);
	CHECK_GOTO(reap_all_children(WAIT_MS), out, "the dumped program did not end");
	/* Its segment goes with it, or with its IPC namespace, freed later. */
	for (int ms = 0; ms < WAIT_MS && hugepages_read() - hugepages_available() > none; ms += 10)
		usleep(10000);
	CHECK_GOTO(hugepages_set(none), out, "cannot shrink %s to %ld pages", NR_HUGEPAGES, none);
	snprintf(key, sizeof(key), key_fmt, image_pid);
	CHECK_GOTO(restore_refused(&p, img, image_pid, "no free huge page", key,
				   "needs 1 huge pages of 2048 kB (2 MiB), only 0 are free: raise "
				   "/proc/sys/vm/nr_hugepages"),
		   out, "%s", why);
	CHECK_GOTO(hugepages_available() == 0, out, "the failed restore left %ld pages free of "
		   "%ld", hugepages_available(), hugepages_read());
	CHECK_GOTO(hugepages_set(none + 1), out, "cannot raise %s to %ld pages again",
		   NR_HUGEPAGES, none + 1);
	prog_cryo(&r, &p, "restore", "-D", img, "-d");
	CHECK_GOTO(r.status == 0, out, "restore with the page failed (%d): %s", r.status, r.out);
	p.pid = image_pid;
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_and_put_back(&p, old);
}

TEST(restore_of_a_sysv_segment_of_huge_pages_needs_them_in_the_pool)
{
	sysv_needs_its_page("neg_sysv_shm_hugetlb", "restore: pid %d vma ");
	sysv_needs_its_page("neg_sysv_shm_hugetlb_unattached", "restore: SysV segment ");
}

static bool empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = d != NULL;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = !fail_why("%s/%s was left behind", path, e->d_name);
	if (d)
		closedir(d);
	return d ? empty : fail_why("cannot open %s", path);
}

/* The images hold what a hugetlbfs mount kept (its files by path, its
 * deleted files' bytes): without it, the restore fails naming a file of
 * it. With files of those names in the folder left below it, the
 * deleted file recreated there is refused for not being on hugetlbfs, and
 * gone again: only the two files the test made are left. */
TEST(restore_without_the_hugetlbfs_mount_names_a_file_and_leaves_nothing)
{
	static const char *const by_path[] = { "private", "shared" };
	char img[PATH_MAX], mnt[PATH_MAX], path[PATH_MAX + 64], key[96];
	struct prog p = { 0 };
	pid_t image_pid;
	long old = -1;

	CHECK_GOTO(hugepages_raise(POOL, &old), out, "cannot raise %s to %d pages", NR_HUGEPAGES,
		   POOL);
	CHECK_GOTO(make_image(&p, "prog_hugetlb", img, &image_pid), out, "%s", why);
	CHECK_GOTO(reap_all_children(WAIT_MS), out, "the dumped child did not end");
	pathf(mnt, "%s/huge", p.dir);
	CHECK_GOTO(!umount2(mnt, 0), out, "cannot unmount %s", mnt);
	snprintf(key, sizeof(key), "restore: pid %d ", image_pid);
	CHECK_GOTO(restore_refused(&p, img, image_pid, "no hugetlbfs mount", key, mnt), out,
		   "%s", why);
	CHECK_GOTO(empty_dir(mnt), out, "%s", why);

	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", mnt, by_path[i]);
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		CHECK_GOTO(fd >= 0 && !close(fd), out, "cannot make %s", path);
	}
	snprintf(path, sizeof(path), "was on a hugetlbfs mount, but %s/ghost is not", mnt);
	CHECK_GOTO(restore_refused(&p, img, image_pid, "tmpfs for hugetlbfs", key, path), out,
		   "%s", why);
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", mnt, by_path[i]);
		CHECK_GOTO(!unlink(path), out, "%s is gone", path);
	}
	CHECK_GOTO(empty_dir(mnt), out, "%s", why);
out:
	end_and_put_back(&p, old);
}
