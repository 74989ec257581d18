/* Memory that processes of a tree share, apart from what each process's
 * own mappings say: the SysV segments they have attached are saved once
 * each (ipc/sysv_shm.h), before any process is collected; in a tree's own
 * IPC namespace, the segments nobody attaches too. Shared
 * anonymous memory is saved with the file objects (files/shmem.c), once
 * per object, as each process's mappings are dumped. */
#include <stdlib.h>

#include "dump/dump.h"
#include "ipc/sysv_shm.h"

int dump_shared_memory(const struct tree *tree, bool whole_ipc_namespace, struct image_dir *dir)
{
	pid_t *pids;
	size_t n;
	int ret = tree_pids(tree, true, &pids, &n);

	if (!ret)
		ret = sysv_shm_dump(pids, n, whole_ipc_namespace, dir);
	free(pids);
	return ret;
}
