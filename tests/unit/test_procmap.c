/* Unit tests of the PROCMAP_QUERY lookups (common/procmap.c), each run
 * twice: through the ioctl, and through the maps text the code falls back
 * to on kernels before 6.11 (CRYO_TEST_NO_PROCMAP_QUERY). The test's own
 * mappings: an executable one among many that are not, a shared file
 * mapping, and a hole. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "common/procmap.h"

#define PG 4096ul

struct seen {
	uint64_t want_start;
	int found;		/* how often @want_start was passed on */
	int total;
	bool ordered;
	uint64_t last;
	char name[64];
	char perms[5];
};

static int record(const struct proc_maps_line *m, void *arg)
{
	struct seen *s = arg;

	s->total++;
	s->ordered &= m->start >= s->last;
	s->last = m->end;
	if (m->start == s->want_start) {
		s->found++;
		snprintf(s->name, sizeof(s->name), "%s", m->name);
		memcpy(s->perms, m->perms, sizeof(s->perms));
	}
	return 0;
}

static void both_ways(void (*check)(const char *how))
{
	unsetenv("CRYO_TEST_NO_PROCMAP_QUERY");
	check("PROCMAP_QUERY");
	setenv("CRYO_TEST_NO_PROCMAP_QUERY", "1", 1);
	check("the maps text");
	unsetenv("CRYO_TEST_NO_PROCMAP_QUERY");
}

static void executable_among_many(const char *how)
{
	char *area = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			  0);
	struct seen s = { .ordered = true };
	int ret;

	CHECK(area != MAP_FAILED, "mmap");
	/* 32 mappings, the one at page 20 executable. */
	for (int p = 0; p < 64; p += 2)
		CHECK(!mprotect(area + p * PG, PG, PROT_READ), "mprotect");
	CHECK(!mprotect(area + 20 * PG, PG, PROT_READ | PROT_EXEC), "mprotect exec");
	s.want_start = (uintptr_t)area + 20 * PG;
	ret = proc_each_mapping(getpid(), PROC_MAPPING_READ | PROC_MAPPING_EXEC, record, &s);
	CHECK(!ret, "%s: %s", how, strerror(-ret));
	CHECK(s.found == 1 && !strcmp(s.perms, "r-xp"), "%s: the executable page seen %d times (%s)",
	      how, s.found, s.perms);
	CHECK(s.ordered, "%s: not in address order", how);
	CHECK(s.total < 32, "%s: %d mappings passed on, the others too", how, s.total);
	munmap(area, 64 * PG);
}

TEST(only_the_executable_mapping_of_many_is_passed_on)
{
	both_ways(executable_among_many);
}

static void shared_file(const char *how)
{
	char path[] = "/tmp/cryo-procmap-XXXXXX";
	int fd = mkstemp(path);
	struct seen s = { .ordered = true };
	char *shared, *private;
	int ret;

	CHECK(fd >= 0 && !ftruncate(fd, 2 * PG), "a file");
	shared = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	private = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG);
	CHECK(shared != MAP_FAILED && private != MAP_FAILED, "mmap");
	s.want_start = (uintptr_t)shared;
	ret = proc_each_mapping(getpid(), PROC_MAPPING_SHARED | PROC_MAPPING_FILE, record, &s);
	CHECK(!ret, "%s: %s", how, strerror(-ret));
	CHECK(s.found == 1 && !strcmp(s.name, path) && s.perms[3] == 's',
	      "%s: the shared mapping seen %d times, named %s", how, s.found, s.name);
	s = (struct seen){ .ordered = true, .want_start = (uintptr_t)private };
	ret = proc_each_mapping(getpid(), PROC_MAPPING_SHARED | PROC_MAPPING_FILE, record, &s);
	CHECK(!ret && !s.found, "%s: a private mapping passed for a shared one", how);
	munmap(shared, PG);
	munmap(private, PG);
	close(fd);
	unlink(path);
}

TEST(a_shared_file_mapping_is_found_with_its_name_and_a_private_one_is_not)
{
	both_ways(shared_file);
}

static void mapping_at(const char *how)
{
	char *area = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct proc_maps_line m;
	char name[16];
	int ret;

	CHECK(area != MAP_FAILED && !munmap(area + PG, PG), "a hole");
	ret = proc_mapping_at(getpid(), (uintptr_t)area + 100, &m, name, sizeof(name));
	CHECK(!ret && m.start == (uintptr_t)area && m.end == (uintptr_t)area + PG &&
	      !strcmp(m.perms, "rw-p") && !*m.name, "%s: the mapping at the first page", how);
	ret = proc_mapping_at(getpid(), (uintptr_t)area + PG, &m, name, sizeof(name));
	CHECK(ret == -ENOENT, "%s: the hole answered %d", how, ret);
	munmap(area, 3 * PG);
}

TEST(the_mapping_at_an_address_or_none_in_a_hole)
{
	both_ways(mapping_at);
}

static void vdso_named(const char *how)
{
	uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
	struct proc_maps_line m;
	char name[16];
	int ret;

	CHECK(vdso, "no vDSO in the auxiliary vector");
	ret = proc_mapping_at(getpid(), vdso, &m, name, sizeof(name));
	CHECK(!ret && m.start == vdso && !strcmp(name, "[vdso]") && m.name == name,
	      "%s: the vDSO is named %s", how, name);
}

TEST(the_vdso_is_found_by_its_address_and_named)
{
	both_ways(vdso_named);
}

TEST(the_mapping_below_an_address_is_found_with_small_and_large_steps)
{
	char *area = mmap(NULL, 10 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t a = (uintptr_t)area + PG;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	struct proc_maps_line m;
	char name[16];
	int ret;

	/* [0, 2) [3, 5) [6, 8) in pages from @a, a hole either side so that
	 * no neighbour merges with them. */
	CHECK(area != MAP_FAILED && !munmap(area, PG) && !munmap(area + 9 * PG, PG), "ends");
	area += PG;
	CHECK(!munmap(area + 2 * PG, PG) && !munmap(area + 5 * PG, PG), "holes");
	ret = proc_mapping_below(fd, a + 8 * PG, PG, &m, name, sizeof(name));
	CHECK(!ret && m.start == a + 6 * PG && m.end == a + 8 * PG, "below the end: %d", ret);
	ret = proc_mapping_below(fd, a + 6 * PG, PG, &m, name, sizeof(name));
	CHECK(!ret && m.start == a + 3 * PG, "below page 6");
	ret = proc_mapping_below(fd, a + 4 * PG, PG, &m, name, sizeof(name));
	CHECK(!ret && m.start == a + 3 * PG, "below page 4, inside a mapping");
	/* A step far larger than the mappings: the walk up finds the last. */
	ret = proc_mapping_below(fd, a + 3 * PG, 1ull << 40, &m, name, sizeof(name));
	CHECK(!ret && m.start == a && m.end == a + 2 * PG, "below page 3, a step of 1 TiB");
	ret = proc_mapping_below(fd, 0x10000, PG, &m, name, sizeof(name));
	CHECK(ret == -ENOENT, "below the lowest address: %d", ret);
	ret = proc_mapping_from(fd, a + 2 * PG, &m, name, sizeof(name));
	CHECK(!ret && m.start == a + 3 * PG, "from the first hole");
	ret = proc_mapping_from(fd, a + PG, &m, name, sizeof(name));
	CHECK(!ret && m.start == a, "from inside the first mapping");
	setenv("CRYO_TEST_NO_PROCMAP_QUERY", "1", 1);
	ret = proc_mapping_below(fd, a + 8 * PG, PG, &m, name, sizeof(name));
	CHECK(ret == -EOPNOTSUPP, "without the query: %d", ret);
	ret = proc_mapping_from(fd, a, &m, name, sizeof(name));
	CHECK(ret == -EOPNOTSUPP, "without the query: %d", ret);
	unsetenv("CRYO_TEST_NO_PROCMAP_QUERY");
	munmap(area, 8 * PG);
	close(fd);
}
