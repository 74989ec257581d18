/* The mapped files of a real process's smaps (mem/vma.c): a file mapped
 * in several mappings is looked up once, and only a mapping whose smaps
 * line names the same inode by the same text takes the first one's
 * lookup: a hard link of the same inode keeps its own path. Sibling of
 * test_mem_smaps.c (crafted text) and test_mem.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "mem/vma.h"

#define PAGES 4

static const Vma *mapping_at(const struct vma_list *list, const void *addr)
{
	for (size_t i = 0; i < list->nr; i++)
		if (list->vmas[i]->start == (uint64_t)addr)
			return list->vmas[i];
	return NULL;
}

TEST(each_mapping_of_a_file_names_it_by_its_own_path)
{
	char dir[] = "/tmp/cryo-mapped-XXXXXX", first[128], second[128];
	long page = sysconf(_SC_PAGESIZE);
	struct vma_list list = { 0 };
	char *a = MAP_FAILED, *b = MAP_FAILED, *c = MAP_FAILED;
	const Vma *va, *vb, *vc;
	struct stat st;
	int fd = -1, fd2 = -1, ret;

	CHECK(mkdtemp(dir), "mkdtemp");
	snprintf(first, sizeof(first), "%s/first", dir);
	snprintf(second, sizeof(second), "%s/second-name", dir);
	fd = open(first, O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK_GOTO(fd >= 0 && !ftruncate(fd, PAGES * page) && !link(first, second), out,
		   "making %s", first);
	fd2 = open(second, O_RDONLY);
	CHECK_GOTO(fd2 >= 0 && !fstat(fd, &st), out, "opening %s", second);
	/* Three mappings in a row: two of the file by its first name, at
	 * different protections (two entries), then one by the hard link. */
	a = mmap(NULL, 3 * PAGES * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_GOTO(a != MAP_FAILED, out, "reserve");
	b = a + PAGES * page;
	c = b + PAGES * page;
	CHECK_GOTO(mmap(a, PAGES * page, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == a &&
			   mmap(b, PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
				fd, 0) == b &&
			   mmap(c, PAGES * page, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd2, 0) == c,
		   out_unmap, "mmap");
	ret = vma_list_read(getpid(), &list);
	CHECK_GOTO(!ret, out_unmap, "vma_list_read: %s", strerror(-ret));
	va = mapping_at(&list, a);
	vb = mapping_at(&list, b);
	vc = mapping_at(&list, c);
	CHECK_GOTO(va && vb && vc, out_list, "the three mappings are in the list");
	CHECK_GOTO(va->file_path && !strcmp(va->file_path, first) && vb->file_path &&
			   !strcmp(vb->file_path, first),
		   out_list, "%s and %s, %s wanted", va->file_path, vb->file_path, first);
	CHECK_GOTO(vc->file_path && !strcmp(vc->file_path, second), out_list,
		   "the hard link's mapping names %s, %s wanted", vc->file_path, second);
	for (const Vma *v = va; v; v = v == va ? vb : v == vb ? vc : NULL)
		CHECK_GOTO(v->file_ino == st.st_ino && v->file_dev == st.st_dev &&
				   v->file_size == (uint64_t)st.st_size,
			   out_list, "mapping at %#llx: inode %llu size %llu",
			   (unsigned long long)v->start, (unsigned long long)v->file_ino,
			   (unsigned long long)v->file_size);
out_list:
	vma_list_free(&list);
out_unmap:
	munmap(a, 3 * PAGES * page);
out:
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	unlink(second);
	unlink(first);
	rmdir(dir);
}
