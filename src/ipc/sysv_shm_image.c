/* The checks of sysv-shm.img that need no other file, apart from any
 * process, so that the image fuzzer can link them alone. */
#include <errno.h>

#include "common/cleanup.h"
#include "files/image_check.h"
#include "images/proto/filedata.pb-c.h"
#include "images/proto/sysv_shm.pb-c.h"
#include "ipc/posix_mq.h"
#include "ipc/sysv_objects.h"
#include "ipc/sysv_shm.h"
#include "mem/hugetlb.h"
#include "ns/ipc.h"

/* No mapping can reach past the end of user space (47 bits). */
#define SEGMENT_MAX (1ULL << 47)

int sysv_shm_image_check(const struct image *img, const struct image_dir *dir, int id)
{
	int32_t last = -1;

	(void)dir;
	(void)id;
	for (size_t i = 0; i < img->nr_records; i++) {
		const SysvShm *s = (const SysvShm *)img->records[i].msg;
		const char *problem = NULL;

		if (s->id < 0 || s->id <= last)
			problem = "ids must be positive and ascending";
		else if (!s->size || s->size > SEGMENT_MAX)
			problem = "size out of range";
		else if (s->mode & ~0777u)
			problem = "mode has bits beyond 0777";
		else if (s->has_huge_page_size && !huge_page_size_valid(s->huge_page_size, 0))
			problem = "a huge page size that is not a power of two from 64 KiB to 1 GiB";
		if (problem) {
			image_error(img->path, img->records[i].offset, "segment %d (key %#x): %s",
				    s->id, s->key, problem);
			return -EBADMSG;
		}
		last = s->id;
	}
	return 0;
}

/* A segment's bytes are runs as a file object's contents are. The sets,
 * queues and sysctls of a tree's own IPC namespace go with them. */
static const struct image_kind_desc ipc_kinds[] = {
	{ IMG_SYSV_SHM, "sysv-shm", "sysv-shm.img", &sysv_shm__descriptor, sysv_shm_image_check },
	{ IMG_SYSV_SHM_DATA, "sysv-shm-data", "sysv-shm-data-%d.img", &file_chunk__descriptor,
	  file_data_image_check },
	{ IMG_IPC_NS, "ipc-ns", "ipc-ns.img", &ipc_ns__descriptor, ipc_ns_image_check },
	{ IMG_SYSV_SEM, "sysv-sem", "sysv-sem.img", &sysv_sem__descriptor, sysv_sem_image_check },
	{ IMG_SYSV_MSG, "sysv-msg", "sysv-msg.img", &sysv_msg_queue__descriptor,
	  sysv_msg_image_check },
	{ IMG_SYSV_MSG_DATA, "sysv-msg-data", "sysv-msg-data-%d.img", &sysv_msg__descriptor,
	  sysv_msg_data_image_check },
	{ IMG_POSIX_MQ, "posix-mq", "posix-mq.img", &posix_mq__descriptor, posix_mq_image_check },
	{ IMG_POSIX_MQ_DATA, "posix-mq-data", "posix-mq-data-%d.img", &posix_mq_msg__descriptor,
	  posix_mq_data_image_check },
};

const struct image_kind_set ipc_image_kinds = { "ipc", ipc_kinds, ARRAY_SIZE(ipc_kinds) };
