/* Memory state beyond the bytes: mlock, mlock2(MLOCK_ONFAULT) and
 * MAP_LOCKED areas, a MAP_DROPPABLE area, guard regions installed with
 * MADV_GUARD_INSTALL, PR_SET_THP_DISABLE, a sealed memfd of an odd size
 * holding an executable that is run with execveat after restore (no
 * "Text file busy"), and mlockall(MCL_FUTURE | MCL_ONFAULT), which a mapping
 * made after restore shows. Each is checked in smaps VmFlags, pagemap or by use. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define PAGE 4096
#define NPAGES 8

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08		/* 6.11 */
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102		/* 6.13 */
#endif
#define PM_GUARD (1ULL << 58)		/* /proc/PID/pagemap, 6.15 */

static sigjmp_buf segv_jump;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(segv_jump, 1);
}

/* Whether reading @p faults (a guard page gives SIGSEGV). */
static bool read_faults(volatile char *p)
{
	struct sigaction sa = { .sa_handler = on_segv }, old;
	bool faulted = false;

	sigaction(SIGSEGV, &sa, &old);
	if (sigsetjmp(segv_jump, 1))
		faulted = true;
	else
		(void)*p;
	sigaction(SIGSEGV, &old, NULL);
	return faulted;
}

/* The VmFlags line of the mapping that starts at @mem ("" if none). */
static void vm_flags_of(const void *mem, char *out, size_t size)
{
	char line[512];
	unsigned long start, end;
	bool inside = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	*out = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, ' ') &&
		    line[strspn(line, "0123456789abcdef")] == '-')
			inside = start == (unsigned long)mem;
		else if (inside && !strncmp(line, "VmFlags:", 8))
			snprintf(out, size, "%s", line + 8);
	}
	if (f)
		fclose(f);
	out[strcspn(out, "\n")] = ' ';
}

static bool has_flag(const char *flags, const char *code)
{
	char word[8];

	snprintf(word, sizeof(word), " %s ", code);
	return strstr(flags, word) != NULL;
}

static uint64_t pagemap_entry(const void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd >= 0 && pread(fd, &e, sizeof(e), (off_t)((uintptr_t)addr / PAGE * 8)) != 8)
		e = 0;
	if (fd >= 0)
		close(fd);
	return e;
}

static char pattern(const void *base, size_t i)
{
	return (char)(((uintptr_t)base >> 12) * 7 + i * 31 + 1);
}

static char *filled_area(int flags)
{
	char *m = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	for (size_t i = 0; i < NPAGES * PAGE; i++)
		m[i] = pattern(m, i);
	return m;
}

static bool check_area(const char *what, const char *m, size_t skip_page)
{
	for (size_t i = 0; i < NPAGES * PAGE; i++) {
		if (i / PAGE == skip_page)
			continue;
		if (m[i] != pattern(m, i))
			return prog_fail("%s: byte %zu differs", what, i);
	}
	return true;
}

static bool check_flags(const char *what, const void *m, const char *want, const char *unwanted)
{
	char flags[512], copy[64], *code, *save;
	bool ok = true;

	vm_flags_of(m, flags, sizeof(flags));
	snprintf(copy, sizeof(copy), "%s", want);
	for (code = strtok_r(copy, " ", &save); code && ok; code = strtok_r(NULL, " ", &save))
		ok = PROG_CHECK(has_flag(flags, code), "%s: no '%s' in VmFlags '%s'", what, code,
				flags);
	snprintf(copy, sizeof(copy), "%s", unwanted);
	for (code = strtok_r(copy, " ", &save); code && ok; code = strtok_r(NULL, " ", &save))
		ok = PROG_CHECK(!has_flag(flags, code), "%s: '%s' in VmFlags '%s'", what, code,
				flags);
	return ok;
}

/* A memfd holding a copy of /bin/true, sealed, of a size that is not a
 * multiple of the page size; only a read-only fd of it is kept. */
static int executable_memfd(off_t *size)
{
	int src = open("/bin/true", O_RDONLY), fd, ro;
	char buf[65536], path[64];
	ssize_t n;

	fd = memfd_create("exe", MFD_ALLOW_SEALING);
	if (src < 0 || fd < 0)
		return -1;
	while ((n = read(src, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			return -1;
	close(src);
	/* A tail of 100 bytes keeps the size off a page boundary. */
	memset(buf, 0, 100);
	if (write(fd, buf, 100) != 100 || fchmod(fd, 0755))
		return -1;
	*size = lseek(fd, 0, SEEK_END);
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK))
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY);
	close(fd);
	return ro;
}

static bool runs_from_memfd(int fd)
{
	char *const argv[] = { "true", NULL };
	char *const envp[] = { NULL };
	int status;
	pid_t child = fork();

	if (child == 0) {
		syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
		_exit(errno == ETXTBSY ? 42 : 43);
	}
	if (child < 0 || waitpid(child, &status, 0) != child)
		return prog_fail("fork or wait for the execveat child: %s", strerror(errno));
	return PROG_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "execveat of the memfd: status %#x (42: Text file busy)", status);
}

int main(int argc, char **argv)
{
	char *locked, *onfault, *map_locked, *droppable, *guarded, *fresh;
	int exe_fd;
	off_t exe_size;
	struct stat st;

	prog_init(argc, argv);
	locked = filled_area(MAP_PRIVATE);
	onfault = filled_area(MAP_PRIVATE);
	map_locked = filled_area(MAP_PRIVATE | MAP_LOCKED);
	droppable = filled_area(MAP_DROPPABLE);
	guarded = filled_area(MAP_PRIVATE);
	if (mlock(locked, NPAGES * PAGE) || mlock2(onfault, NPAGES * PAGE, MLOCK_ONFAULT)) {
		perror("mlock");
		return 1;
	}
	/* The guard page wipes what was there. */
	if (madvise(guarded + 3 * PAGE, PAGE, MADV_GUARD_INSTALL)) {
		perror("MADV_GUARD_INSTALL");
		return 1;
	}
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) {
		perror("PR_SET_THP_DISABLE");
		return 1;
	}
	exe_fd = executable_memfd(&exe_size);
	if (exe_fd < 0) {
		perror("executable memfd");
		return 1;
	}
	/* Last: the mappings above are not to be locked by it. */
	if (mlockall(MCL_FUTURE | MCL_ONFAULT)) {
		perror("mlockall");
		return 1;
	}
	prog_ready();
	prog_wait_sigterm();

	if (check_area("mlock", locked, NPAGES))
		check_flags("mlock", locked, "lo", "lf");
	if (check_area("mlock2 onfault", onfault, NPAGES))
		check_flags("mlock2 onfault", onfault, "lo lf", "");
	if (check_area("MAP_LOCKED", map_locked, NPAGES))
		check_flags("MAP_LOCKED", map_locked, "lo", "lf");
	check_flags("MAP_DROPPABLE", droppable, "dp wf dd", "lo");
	/* Droppable pages may be dropped under memory pressure: each page
	 * holds its bytes or zeros. */
	for (size_t p = 0; p < NPAGES; p++) {
		const char *page = droppable + p * PAGE;

		if (page[1] == 0 && page[0] == 0)
			continue;
		for (size_t i = 0; i < PAGE; i++)
			if (!PROG_CHECK(page[i] == pattern(droppable, p * PAGE + i),
					"MAP_DROPPABLE: byte %zu differs", p * PAGE + i))
				break;
	}
	if (check_area("guarded", guarded, 3))
		check_flags("guarded", guarded, "gu", "lo");
	PROG_CHECK(pagemap_entry(guarded + 3 * PAGE) & PM_GUARD, "page 3 is no longer a guard");
	PROG_CHECK(!(pagemap_entry(guarded + 2 * PAGE) & PM_GUARD), "page 2 became a guard");
	PROG_CHECK(read_faults(guarded + 3 * PAGE), "reading the guard page did not fault");
	PROG_CHECK(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1, "THP is no longer disabled");
	PROG_CHECK(fstat(exe_fd, &st) == 0 && st.st_size == exe_size, "memfd size %lld, not %lld",
		   (long long)st.st_size, (long long)exe_size);
	PROG_CHECK(fcntl(exe_fd, F_GET_SEALS) == (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK),
		   "memfd seals %#x", fcntl(exe_fd, F_GET_SEALS));
	PROG_CHECK((fcntl(exe_fd, F_GETFL) & O_ACCMODE) == O_RDONLY, "memfd fd is not read-only");
	runs_from_memfd(exe_fd);
	fresh = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (PROG_CHECK(fresh != MAP_FAILED, "mmap after restore: %s", strerror(errno))) {
		check_flags("a mapping made after restore (mlockall MCL_FUTURE | MCL_ONFAULT)",
			    fresh, "lo lf", "");
		munmap(fresh, PAGE);
	}
	prog_finish();
}
