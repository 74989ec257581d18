/* The checks of sysv-sem.img, sysv-msg.img and sysv-msg-data-ID.img, and
 * of posix-mq.img and posix-mq-data-N.img, that need no other file, apart from any process, so that the image fuzzer can
 * link them alone. Whether each queue's messages agree with its record is
 * checked when they are loaded together (sysv_objects_load.c). */
#include <errno.h>
#include <limits.h>

#include <string.h>

#include "ipc/posix_mq.h"
#include "ipc/sysv_objects.h"

int sysv_sem_image_check(const struct image *img, const struct image_dir *dir, int id)
{
	int32_t last = -1;

	(void)dir;
	(void)id;
	for (size_t i = 0; i < img->nr_records; i++) {
		const SysvSem *s = (const SysvSem *)img->records[i].msg;
		const char *problem = NULL;

		if (s->id < 0 || s->id <= last)
			problem = "ids must be positive and ascending";
		else if (!s->n_values || s->n_values > SYSV_SEM_NSEMS_MAX)
			problem = "number of semaphores out of range";
		else if (s->mode & ~0777u)
			problem = "mode has bits beyond 0777";
		for (size_t j = 0; !problem && j < s->n_values; j++)
			if (s->values[j] > SYSV_SEM_VALUE_MAX)
				problem = "a value is above 32767 (SEMVMX)";
		if (problem) {
			image_error(img->path, img->records[i].offset,
				    "semaphore set %d (key %#x): %s", s->id, s->key, problem);
			return -EBADMSG;
		}
		last = s->id;
	}
	return 0;
}

int sysv_msg_image_check(const struct image *img, const struct image_dir *dir, int id)
{
	int32_t last = -1;

	(void)dir;
	(void)id;
	for (size_t i = 0; i < img->nr_records; i++) {
		const SysvMsgQueue *q = (const SysvMsgQueue *)img->records[i].msg;
		const char *problem = NULL;

		if (q->id < 0 || q->id <= last)
			problem = "ids must be positive and ascending";
		else if (q->mode & ~0777u)
			problem = "mode has bits beyond 0777";
		else if (q->qbytes > INT32_MAX || q->nr_bytes > IMG_RECORD_MAX / 2)
			problem = "size limit or bytes held out of range";
		else if (q->nr_bytes && !q->nr_messages)
			problem = "bytes held without a message";
		if (problem) {
			image_error(img->path, img->records[i].offset,
				    "message queue %d (key %#x): %s", q->id, q->key, problem);
			return -EBADMSG;
		}
		last = q->id;
	}
	return 0;
}

int sysv_msg_data_image_check(const struct image *img, const struct image_dir *dir, int id)
{
	(void)dir;
	for (size_t i = 0; i < img->nr_records; i++) {
		const SysvMsg *m = (const SysvMsg *)img->records[i].msg;

		if (m->type <= 0 || m->type > LONG_MAX) {
			image_error(img->path, img->records[i].offset,
				    "message %zu of queue %d: type %lld is not positive", i, id,
				    (long long)m->type);
			return -EBADMSG;
		}
	}
	return 0;
}

/* The checks of posix-mq.img and its data files: names a directory entry
 * can have, sorted; limits the kernel takes; priorities below
 * MQ_PRIO_MAX. */
int posix_mq_image_check(const struct image *img, const struct image_dir *dir, int id)
{
	const char *last = NULL;

	(void)dir;
	(void)id;
	for (size_t i = 0; i < img->nr_records; i++) {
		const PosixMq *q = (const PosixMq *)img->records[i].msg;
		const char *problem = NULL;
		size_t len = strlen(q->name);

		if (!len || len > NAME_MAX || strchr(q->name, '/') || !strcmp(q->name, ".") ||
		    !strcmp(q->name, ".."))
			problem = "not a queue's name";
		else if (last && strcmp(last, q->name) >= 0)
			problem = "names must be sorted and unique";
		else if (q->mode & ~0777u)
			problem = "mode has bits beyond 0777";
		else if (q->maxmsg <= 0 || q->maxmsg > POSIX_MQ_MAXMSG_MAX || q->msgsize <= 0 ||
			 q->msgsize > POSIX_MQ_MSGSIZE_MAX)
			problem = "its limits are out of range";
		else if (q->nr_messages > q->maxmsg)
			problem = "more messages than it takes";
		if (problem) {
			image_error(img->path, img->records[i].offset, "queue %zu (/%.64s): %s", i,
				    q->name, problem);
			return -EBADMSG;
		}
		last = q->name;
	}
	return 0;
}

int posix_mq_data_image_check(const struct image *img, const struct image_dir *dir, int id)
{
	(void)dir;
	for (size_t i = 0; i < img->nr_records; i++) {
		const PosixMqMsg *m = (const PosixMqMsg *)img->records[i].msg;

		if (m->prio >= 32768) {
			image_error(img->path, img->records[i].offset,
				    "message %zu of queue %d: priority %u is not below 32768", i,
				    id, m->prio);
			return -EBADMSG;
		}
	}
	return 0;
}
