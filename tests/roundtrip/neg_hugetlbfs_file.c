/* A file on a hugetlbfs mount of its own (PROG_DIR/huge, which the test
 * unmounts), one 2 MiB page, mapped shared and written: dump refuses it by
 * name, and the program must still find its bytes afterwards. Needs a huge
 * page in the pool (vm.nr_hugepages). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

#define HUGE (2u << 20)

int main(int argc, char **argv)
{
	char dir[4096], path[4200];
	char *mem;
	int fd;

	prog_init(argc, argv);
	snprintf(dir, sizeof(dir), "%s/huge", prog_dir());
	snprintf(path, sizeof(path), "%s/file", dir);
	if ((mkdir(dir, 0700) && errno != EEXIST) ||
	    mount("cryo-test", dir, "hugetlbfs", 0, "pagesize=2M")) {
		perror("neg_hugetlbfs_file: mount hugetlbfs");
		return 1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	mem = fd < 0 ? MAP_FAILED : mmap(NULL, HUGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		perror("neg_hugetlbfs_file: map a file of it");
		return 1;
	}
	for (size_t i = 0; i < HUGE; i += 4096)
		mem[i] = (char)(i >> 12);
	prog_ready();
	prog_run_until_sigterm();
	for (size_t i = 0; i < HUGE; i += 4096)
		if (!PROG_CHECK(mem[i] == (char)(i >> 12), "byte %zu", i))
			break;
	prog_finish();
}
