/* A SysV segment of one 2 MiB huge page (SHM_HUGETLB), attached, written
 * and marked for removal at once (it goes with the program): dump refuses
 * it by name, and the program must still find its bytes afterwards. Needs
 * a huge page in the pool (vm.nr_hugepages). */
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "prog.h"

#define HUGE (2u << 20)

int main(int argc, char **argv)
{
	char *mem;
	int id;

	prog_init(argc, argv);
	id = shmget(IPC_PRIVATE, HUGE, IPC_CREAT | SHM_HUGETLB | 0600);
	mem = id < 0 ? (char *)-1 : shmat(id, NULL, 0);
	if (id >= 0)
		shmctl(id, IPC_RMID, NULL);
	if (mem == (char *)-1) {
		perror("neg_sysv_shm_hugetlb: a SHM_HUGETLB segment");
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
