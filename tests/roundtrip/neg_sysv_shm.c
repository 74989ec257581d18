/* A SysV segment with a key (0x5f000000 | pid), attached and filled, and
 * not marked for removal: it outlives the program, so a restore finds it
 * still there unless it is removed first. On SIGTERM the program checks
 * its bytes and its id, then removes it. */
#include <stdint.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

#include "prog.h"

#define SIZE (2 * 4096)

int main(int argc, char **argv)
{
	key_t key;
	char *mem;
	int id, again;
	bool ok = true;

	prog_init(argc, argv);
	key = (key_t)(0x5f000000 | getpid());
	id = shmget(key, SIZE, IPC_CREAT | IPC_EXCL | 0600);
	if (id < 0)
		return 1;
	mem = shmat(id, NULL, 0);
	if (mem == (void *)-1)
		return 1;
	for (size_t i = 0; i < SIZE; i++)
		mem[i] = (char)(i * 13 + 1);
	prog_ready();
	prog_wait_sigterm();
	for (size_t i = 0; i < SIZE && ok; i++)
		ok = PROG_CHECK(mem[i] == (char)(i * 13 + 1), "byte %zu of the segment", i);
	again = shmget(key, 0, 0);
	PROG_CHECK(again == id, "key %#x finds segment %d, not %d", (unsigned)key, again, id);
	shmctl(id, IPC_RMID, NULL);
	shmdt(mem);
	prog_finish();
}
