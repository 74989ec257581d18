/* A memfd of one page mapped over two, as the kernel allows: touching the
 * second page gives SIGBUS until the file grows. After restore the mapping
 * must still span both pages, its first page hold its byte, the second
 * still give SIGBUS, and growing the file must make it reachable. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define PAGE 4096

static sigjmp_buf bus_jump;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_jump, 1);
}

/* Whether reading @p gives SIGBUS. */
static bool gives_sigbus(volatile char *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	bool bus = false;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_jump, 1))
		bus = true;
	else
		(void)*p;
	sigaction(SIGBUS, &old, NULL);
	return bus;
}

/* The length of the mapping that starts at @mem, from /proc/self/maps. */
static unsigned long mapping_length(const char *mem)
{
	char line[512];
	unsigned long start, end, len = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && start == (unsigned long)mem)
			len = end - start;
	if (f)
		fclose(f);
	return len;
}

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
	PROG_CHECK(mapping_length(mem) == 2 * PAGE, "the mapping spans %lu bytes, not %d",
		   mapping_length(mem), 2 * PAGE);
	PROG_CHECK(gives_sigbus(mem + PAGE), "the page past the memfd's end can be read");
	PROG_CHECK(!ftruncate(fd, 2 * PAGE), "cannot grow the memfd");
	mem[PAGE] = 'g';
	PROG_CHECK(mem[PAGE] == 'g' && !gives_sigbus(mem + PAGE),
		   "the grown memfd's second page cannot be used");
	prog_finish();
}
