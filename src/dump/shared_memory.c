/* Memory that processes of a tree share, refused until restore can share
 * it again: a MAP_SHARED anonymous mapping inherited over fork would come
 * back as a private copy in each process, and SysV segments are not
 * restored at all. Refused before anything is written, so the tree runs
 * on untouched. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "dump/dump.h"

struct shared_anon {
	uint64_t ino;
	pid_t pid;
};

/* Checks one process's shared mappings against those seen so far. */
static int check_process(pid_t pid, struct shared_anon **seen, size_t *nr)
{
	char path[64], line[4096 + 128];
	int ret = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return pr_errno_ret("dump: pid %d: cannot read %s", pid, path);
	while (!ret && fgets(line, sizeof(line), f)) {
		char perms[8] = "", name[4096] = "";
		uint64_t start, end, ino;
		struct shared_anon *grown;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %*s %*s %" SCNu64 " %4095[^\n]", &start,
			   &end, perms, &ino, name) < 4 || perms[3] != 's')
			continue;
		if (!strncmp(name, "/SYSV", 5)) {
			pr_err("dump: pid %d mapping %" PRIx64 "-%" PRIx64 " (%s): SysV shared memory "
			       "is not supported yet", pid, start, end, name);
			ret = -EOPNOTSUPP;
			break;
		}
		if (strcmp(name, "/dev/zero (deleted)") && strncmp(name, "[anon_shmem:", 12))
			continue;
		for (size_t i = 0; i < *nr; i++) {
			if ((*seen)[i].ino == ino && (*seen)[i].pid != pid) {
				pr_err("dump: pid %d mapping %" PRIx64 "-%" PRIx64 ": shared anonymous "
				       "memory shared with pid %d is not supported yet", pid, start,
				       end, (*seen)[i].pid);
				ret = -EOPNOTSUPP;
			}
		}
		grown = reallocarray(*seen, *nr + 1, sizeof(**seen));
		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		*seen = grown;
		grown[(*nr)++] = (struct shared_anon){ ino, pid };
	}
	fclose(f);
	return ret;
}

int dump_check_shared_memory(const struct tree *tree)
{
	struct shared_anon *seen = NULL;
	size_t nr = 0;
	int ret = 0;

	for (size_t i = 0; !ret && i < tree->nr; i++)
		if (tree->tasks[i].state == TREE_ALIVE)
			ret = check_process(tree->tasks[i].pid, &seen, &nr);
	free(seen);
	return ret;
}
