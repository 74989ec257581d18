/* Reading the semaphore sets and message queues of a dump at restore, and
 * the checks that span files: each queue's messages are as many, and as
 * many bytes, as its record says. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "ipc/sysv_objects.h"

void sysv_objects_free(struct sysv_objects *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->nr_queues; i++)
		image_free(o->queues[i].data);
	free(o->queues);
	image_free(o->sem_img);
	image_free(o->msg_img);
	free(o);
}

static int load_messages(const struct image_dir *dir, struct sysv_msg_queue *q)
{
	int ret = image_read(dir, IMG_SYSV_MSG_DATA, q->rec->id, &q->data);
	uint64_t bytes = 0;

	if (ret)
		return ret;
	for (size_t i = 0; i < q->data->nr_records; i++)
		bytes += ((const SysvMsg *)q->data->records[i].msg)->text.len;
	if (q->data->nr_records != q->rec->nr_messages || bytes != q->rec->nr_bytes) {
		image_error(q->data->path, 0, "queue %d: %zu messages of %llu bytes, where "
			    "sysv-msg.img says %u of %llu", q->rec->id, q->data->nr_records,
			    (unsigned long long)bytes, q->rec->nr_messages,
			    (unsigned long long)q->rec->nr_bytes);
		return -EBADMSG;
	}
	return 0;
}

static bool has_file(const struct image_dir *dir, const char *name)
{
	return !faccessat(dir->fd, name, F_OK, 0) || errno != ENOENT;
}

int sysv_objects_load(const struct image_dir *dir, struct sysv_objects **out)
{
	struct sysv_objects *o = calloc(1, sizeof(*o));
	int ret = 0;

	if (!o)
		return -ENOMEM;
	if (has_file(dir, "sysv-sem.img"))
		ret = image_read(dir, IMG_SYSV_SEM, 0, &o->sem_img);
	if (!ret && has_file(dir, "sysv-msg.img")) {
		ret = image_read(dir, IMG_SYSV_MSG, 0, &o->msg_img);
		if (!ret) {
			o->queues = calloc(o->msg_img->nr_records + 1, sizeof(*o->queues));
			if (!o->queues)
				ret = -ENOMEM;
		}
		for (size_t i = 0; !ret && i < o->msg_img->nr_records; i++) {
			o->queues[i].rec = (const SysvMsgQueue *)o->msg_img->records[i].msg;
			o->nr_queues++;
			ret = load_messages(dir, &o->queues[i]);
		}
	}
	if (ret) {
		sysv_objects_free(o);
		return ret;
	}
	*out = o;
	return 0;
}
