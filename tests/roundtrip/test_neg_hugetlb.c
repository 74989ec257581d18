/* Negative tests (test_negative.c says what they check): a restore of
 * hugetlb memory (prog_hugetlb) when the pool of huge pages is too small
 * fails before anything is made, naming a mapping, the pages needed and
 * the sysctl to raise, leaves nothing behind, and the same images restore
 * once the pool is large enough again. The pool (vm.nr_hugepages) is put
 * back to its old size, also when a check fails. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "cryo_driver.h"
#include "harness.h"
#include "hugepages_util.h"
#include "image_util.h"
#include "runner_util.h"

/* prog_hugetlb's need: 9 pages, 10 restored (the child's copy of a
 * private page is its own then). */
#define POOL 16

TEST(restore_without_enough_huge_pages_names_the_need_and_leaves_nothing)
{
	char img[PATH_MAX], key[96];
	struct prog p = { 0 };
	struct cryo_run r;
	pid_t image_pid;
	long old = -1;

	CHECK_GOTO(hugepages_raise(POOL, &old), out, "cannot raise %s to %d pages", NR_HUGEPAGES,
		   POOL);
	CHECK_GOTO(make_image(&p, "prog_hugetlb", img, &image_pid), out, "%s", why);
	/* Its child, killed by the dump too, came back to us. */
	CHECK_GOTO(reap_all_children(WAIT_MS), out, "the dumped child did not end");
	CHECK_GOTO(hugepages_set(2), out, "cannot shrink %s to 2 pages", NR_HUGEPAGES);
	snprintf(key, sizeof(key), "restore: pid %d vma ", image_pid);
	CHECK_GOTO(restore_refused(&p, img, image_pid, "a pool of 2 huge pages", key,
				   "needs 10 huge pages of 2048 kB (20 MiB), only 2 are free: raise "
				   "/proc/sys/vm/nr_hugepages"),
		   out, "%s", why);
	CHECK_GOTO(hugepages_read() == 2, out, "the failed restore left the pool at %ld",
		   hugepages_read());

	/* The same images, with the pool back. */
	CHECK_GOTO(hugepages_set(POOL), out, "cannot raise %s to %d pages again", NR_HUGEPAGES,
		   POOL);
	prog_cryo(&r, &p, "restore", "-D", img, "-d");
	CHECK_GOTO(r.status == 0, out, "restore with %d pages failed (%d): %s", POOL, r.status,
		   r.out);
	p.pid = image_pid;
	CHECK_GOTO(prog_passes(&p), out, "%s", why);
out:
	end_prog(&p);
	if (old >= 0)
		CHECK(hugepages_set(old), "cannot put %s back to %ld", NR_HUGEPAGES, old);
}
