/* A memfd of one page mapped over two: the kernel allows a mapping past
 * the end of its file (touching it gives SIGBUS), but restore refuses such
 * a mapping, so dump refuses it first. On SIGTERM the program checks the
 * page it can reach. */
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define PAGE 4096

int main(int argc, char **argv)
{
	char *mem;
	int fd;

	prog_init(argc, argv);
	fd = memfd_create("past_end", 0);
	if (fd < 0 || ftruncate(fd, PAGE))
		return 1;
	mem = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return 1;
	mem[0] = 'm';
	prog_ready();
	prog_wait_sigterm();
	PROG_CHECK(mem[0] == 'm', "the memfd's first byte is %#x", (unsigned char)mem[0]);
	prog_finish();
}
