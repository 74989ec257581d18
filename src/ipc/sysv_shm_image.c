/* The checks of sysv-shm.img that need no other file, apart from any
 * process, so that the image fuzzer can link them alone. */
#include <errno.h>

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
