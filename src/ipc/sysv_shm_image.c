/* The checks of sysv-shm.img that need no other file, apart from any
 * process, so that the image fuzzer can link them alone. */
#include <errno.h>

#include "common/cleanup.h"
#include "files/image_check.h"
#include "images/proto/filedata.pb-c.h"
#include "images/proto/sysv_shm.pb-c.h"
#include "ipc/sysv_shm.h"

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
		if (problem) {
			image_error(img->path, img->records[i].offset, "segment %d (key %#x): %s",
				    s->id, s->key, problem);
			return -EBADMSG;
		}
		last = s->id;
	}
	return 0;
}

/* A segment's bytes are runs as a file object's contents are. */
static const struct image_kind_desc ipc_kinds[] = {
	{ IMG_SYSV_SHM, "sysv-shm", "sysv-shm.img", &sysv_shm__descriptor, sysv_shm_image_check },
	{ IMG_SYSV_SHM_DATA, "sysv-shm-data", "sysv-shm-data-%d.img", &file_chunk__descriptor,
	  file_data_image_check },
};

const struct image_kind_set ipc_image_kinds = { "ipc", ipc_kinds, ARRAY_SIZE(ipc_kinds) };
