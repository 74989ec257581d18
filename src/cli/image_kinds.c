/* The parts whose image kinds cryo knows, registered with the images
 * library. Explicit calls rather than constructors: a constructor in an
 * archive member that nothing references would never be linked in, and a
 * kind would go missing without a word. */
#include "cli/image_kinds.h"
#include "common/cleanup.h"
#include "files/image_check.h"
#include "images/image.h"
#include "ipc/sysv_shm.h"
#include "mem/mm.h"
#include "ns/mnt.h"
#include "ns/net.h"
#include "ns/ns.h"
#include "ns/user.h"
#include "task/cgroup_settings.h"
#include "task/cpuinfo.h"
#include "task/task.h"
#include "tree/tree.h"

int cryo_register_image_kinds(void)
{
	static const struct image_kind_set *const parts[] = {
		&task_image_kinds, &mem_image_kinds, &files_image_kinds,
		&tree_image_kinds, &ipc_image_kinds, &ns_image_kinds, &ns_own_image_kinds,
		&net_ns_image_kinds, &cgroup_image_kinds,
		&ns_user_image_kinds,
		&cpuinfo_image_kinds,
	};

	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		int ret = image_kinds_register(parts[i]);

		if (ret)
			return ret;
	}
	return 0;
}
