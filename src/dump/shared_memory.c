/* Memory that processes of a tree share, apart from what each process's
 * own mappings say: the SysV segments they have attached are saved once
 * each (ipc/sysv_shm.h), before any process is collected. Shared
 * anonymous memory is saved with the file objects (files/shmem.c), once
 * per object, as each process's mappings are dumped. */
#include <errno.h>
#include <stdlib.h>

#include "common/log.h"
#include "dump/dump.h"
#include "ipc/sysv_shm.h"

int dump_shared_memory(const struct tree *tree, struct image_dir *dir)
{
	pid_t *pids = calloc(tree->nr + 1, sizeof(*pids));
	size_t n = 0;
	int ret;

	if (!pids) {
		pr_err("dump: out of memory for %zu processes", tree->nr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < tree->nr; i++)
		if (tree->tasks[i].state == TREE_ALIVE)
			pids[n++] = tree->tasks[i].pid;
	ret = sysv_shm_dump(pids, n, dir);
	free(pids);
	return ret;
}
