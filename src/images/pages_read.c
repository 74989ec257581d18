/* Reading a task's pages store: its pagemap, checked on reading
 * (pagemap_check() in pages.c), and its pages file, or the two of a large
 * dump, the second opened only when a range names it. Not the checks, nor
 * what restore does with the pages. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "images/pages.h"
#include "images/proto/pagemap.pb-c.h"

/* Opens pages file @file of @pid into @pr. */
static int open_pages_file(const struct image_dir *dir, int pid, uint32_t file,
			   struct pages_reader *pr)
{
	struct stat st;
	char name[64];

	image_file_name(pages_file_kind(file), pid, name, sizeof(name));
	pr->pages_path[file] = image_dir_file_path(dir, name);
	if (!pr->pages_path[file])
		return -ENOMEM;
	pr->pages_fd[file] = image_dir_open_file(dir, name, &st);
	return pr->pages_fd[file] < 0 ? pr->pages_fd[file] : 0;
}

int pages_reader_open(const struct image_dir *dir, int pid, struct pages_reader **out)
{
	struct pages_reader *pr;
	int ret;

	pr = calloc(1, sizeof(*pr));
	if (!pr) {
		pr_err("pid %d: out of memory for the pages reader", pid);
		return -ENOMEM;
	}
	for (uint32_t f = 0; f < PAGES_FILES_MAX; f++)
		pr->pages_fd[f] = -1;
	ret = image_read(dir, IMG_PAGEMAP, pid, &pr->pagemap);
	if (ret)
		goto err;
	pr->nr_files = 1;
	for (size_t i = 0; i < pr->pagemap->nr_records; i++) {
		const PagemapEntry *e = (const PagemapEntry *)pr->pagemap->records[i].msg;

		if (pages_entry_file(e) + 1 > pr->nr_files)
			pr->nr_files = pages_entry_file(e) + 1;
	}
	for (uint32_t f = 0; f < pr->nr_files && !ret; f++)
		ret = open_pages_file(dir, pid, f, pr);
	if (ret)
		goto err;
	*out = pr;
	return 0;

err:
	pages_reader_close(pr);
	return ret;
}

void pages_reader_close(struct pages_reader *pr)
{
	if (!pr)
		return;
	for (uint32_t f = 0; f < PAGES_FILES_MAX; f++) {
		if (pr->pages_fd[f] >= 0)
			close(pr->pages_fd[f]);
		free(pr->pages_path[f]);
	}
	image_free(pr->pagemap);
	free(pr);
}
