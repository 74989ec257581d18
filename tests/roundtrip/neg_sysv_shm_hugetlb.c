/* A SysV segment of one 2 MiB huge page (SHM_HUGETLB), written: its
 * restore needs that page free in the pool (test_neg_hugetlb), and the
 * program must find its bytes after it. Attached and marked for removal
 * at once (it goes with the program); with "unattached", in an IPC
 * namespace of its own (which goes with the program), detached after the
 * writing, so that dump meets it among the namespace's segments. Needs a
 * huge page in the pool (vm.nr_hugepages). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "prog.h"

#define HUGE (2u << 20)

int main(int argc, char **argv)
{
	bool unattached;
	char *mem;
	int id;

	prog_init(argc, argv);
	unattached = optind < argc && !strcmp(argv[optind], "unattached");
	id = shmget(IPC_PRIVATE, HUGE, IPC_CREAT | SHM_HUGETLB | 0600);
	mem = id < 0 ? (char *)-1 : shmat(id, NULL, 0);
	if (id >= 0 && !unattached)
		shmctl(id, IPC_RMID, NULL);
	if (mem == (char *)-1) {
		perror("neg_sysv_shm_hugetlb: a SHM_HUGETLB segment");
		return 1;
	}
	for (size_t i = 0; i < HUGE; i += 4096)
		mem[i] = (char)(i >> 12);
	if (unattached && shmdt(mem)) {
		perror("neg_sysv_shm_hugetlb: shmdt");
		return 1;
	}
	prog_ready();
	prog_run_until_sigterm();
	if (unattached)
		mem = shmat(id, NULL, SHM_RDONLY);
	if (!PROG_CHECK(mem != (char *)-1, "cannot attach segment %d again", id))
		prog_finish();
	for (size_t i = 0; i < HUGE; i += 4096)
		if (!PROG_CHECK(mem[i] == (char)(i >> 12), "byte %zu", i))
			break;
	prog_finish();
}
