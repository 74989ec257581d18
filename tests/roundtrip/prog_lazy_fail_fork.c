/* The page server fails while processes forked after a lazy restore still
 * have pages pending: the runner restores this program with
 * CRYO_TEST_LAZY_FAIL_AFTER, so that the server's copies start failing
 * soon after. Every process served must then be killed, the forked child
 * and its own child included: none may run on and read zeros where the
 * image had data. This program never ends by itself; the runner checks
 * that all three die by SIGKILL. A process that reads a wrong word writes
 * FAIL to the out file and exits, which the runner sees. Run in the lazy
 * cycle only. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lazy_util.h"

#define AREA (16 * LAZY_MIB)
#define SEED 11

/* Reads the area a page at a time, slowly, round and round: each page
 * not yet served is a fault; a wrong word ends the process with FAIL. */
static void __attribute__((noreturn)) read_forever(const char *area, const char *who)
{
	for (;;)
		for (size_t page = 0; page < AREA / LAZY_PAGE; page++) {
			if (!lazy_check(area + page * LAZY_PAGE, LAZY_PAGE,
					page * LAZY_PAGE / 8, SEED, who))
				prog_finish();
			usleep(500);
		}
}

int main(int argc, char **argv)
{
	char marker[4200], text[64];
	pid_t child, grandchild;
	char *area;
	FILE *f;

	prog_init(argc, argv);
	area = mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return 1;
	lazy_fill(area, AREA, SEED);
	prog_ready();
	prog_wait_sigterm();

	if (!lazy_mostly_missing(area, AREA, "the area at fork"))
		prog_finish();
	child = fork();
	if (child == 0) {
		/* Known to the server only as a descendant: it never reads. */
		grandchild = fork();
		if (grandchild == 0)
			for (;;)
				pause();
		snprintf(text, sizeof(text), "%d %d\n", getpid(), grandchild);
		snprintf(marker, sizeof(marker), "%s/forked", prog_dir());
		f = fopen(marker, "w");
		if (!f || fputs(text, f) < 0 || fclose(f))
			_exit(3);
		read_forever(area, "the child's area");
	}
	if (child < 0) {
		prog_fail("fork: the child could not be created");
		prog_finish();
	}
	read_forever(area, "the parent's area");
}
