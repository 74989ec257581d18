/* The check of locks.img on its own (locks_check): two locks of one owner
 * over the same bytes are refused wherever they sit in the image, locks of
 * different owners may overlap. */
#include <string.h>

#include "common/log.h"
#include "files/files.h"
#include "harness.h"
#include "images/image.h"
#include "images/proto/locks.pb-c.h"

#define NR 5

static FileLock posix_lock(int pid, uint64_t start, uint64_t end)
{
	FileLock l = FILE_LOCK__INIT;

	l.kind = FILE_LOCK__KIND__POSIX;
	l.type = FILE_LOCK__TYPE__WRITE;
	l.start = start;
	l.has_end = true;
	l.end = end;
	l.pid = pid;
	l.fd = 3;
	l.file_id = 1;
	return l;
}

/* locks_check() over @locks, its error kept in @errors. */
static int check_locks(FileLock *locks, size_t nr, char *errors, size_t size)
{
	struct image_record records[NR];
	struct image img = { .path = "locks.img", .nr_records = nr, .records = records };
	int ret;

	for (size_t i = 0; i < nr; i++)
		records[i] = (struct image_record){ i * 16, &locks[i].base };
	log_capture_errors(errors, size);
	ret = locks_check(&img, NULL, 0);
	log_capture_errors(NULL, 0);
	return ret;
}

TEST(locks_of_one_owner_that_overlap_are_refused_far_apart)
{
	/* The first and the last overlap; the ones between do not. */
	FileLock locks[NR] = { posix_lock(7, 0, 99), posix_lock(7, 200, 299),
			       posix_lock(8, 0, 999), posix_lock(7, 400, 499),
			       posix_lock(7, 50, 60) };
	char errors[256] = "";

	CHECK(check_locks(locks, NR, errors, sizeof(errors)) < 0, "accepted");
	CHECK(strstr(errors, "two locks of one owner over the same bytes"), "said: %s", errors);
}

TEST(locks_that_do_not_overlap_or_have_other_owners_pass)
{
	FileLock locks[NR] = { posix_lock(7, 0, 99), posix_lock(7, 200, 299),
			       posix_lock(8, 0, 999), posix_lock(7, 400, 499),
			       posix_lock(9, 50, 60) };
	char errors[256] = "";

	CHECK(check_locks(locks, NR, errors, sizeof(errors)) == 0, "refused: %s", errors);
}
