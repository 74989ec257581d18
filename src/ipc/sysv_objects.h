/* SysV semaphore sets and message queues of a tree's own IPC namespace:
 * every one of the namespace is saved (they outlive processes, so which
 * process "has" one is not known), and made again with the same id, key,
 * mode, owner, values and messages in the new namespace restore makes
 * (ns/ipc.c). In cryo's own namespace they are not saved: there they
 * outlive the tree and are still there at restore, as files are. */
#ifndef CRYO_IPC_SYSV_OBJECTS_H
#define CRYO_IPC_SYSV_OBJECTS_H

#include <stddef.h>

#include "images/image.h"
#include "images/proto/ipc_ns.pb-c.h"

/* Semaphores and values the kernel allows in one set (SEMMSL, SEMVMX). */
#define SYSV_SEM_NSEMS_MAX 32000
#define SYSV_SEM_VALUE_MAX 32767

/* Write sysv-sem.img and sysv-msg.img (with each queue's messages, read
 * with MSG_COPY so that no queue is consumed) for every set and queue of
 * the IPC namespace cryo is in now; @who names the tree in messages. */
int sysv_sem_dump(struct image_dir *dir, const char *who);
int sysv_msg_dump(struct image_dir *dir, const char *who);

/* The checks of sysv-sem.img, sysv-msg.img and sysv-msg-data-ID.img that
 * need no other file (in the ipc image kinds). */
int sysv_sem_image_check(const struct image *img, const struct image_dir *dir, int id);
int sysv_msg_image_check(const struct image *img, const struct image_dir *dir, int id);
int sysv_msg_data_image_check(const struct image *img, const struct image_dir *dir, int id);

/* The sets and queues of a dump, read and checked: sysv-sem.img and
 * sysv-msg.img with every queue's messages (none: empty). */
struct sysv_msg_queue {
	const SysvMsgQueue *rec;
	struct image *data;	/* its sysv-msg-data-ID.img */
};

struct sysv_objects {
	struct image *sem_img, *msg_img;	/* NULL: the dump has none */
	struct sysv_msg_queue *queues;
	size_t nr_queues;
};

int sysv_objects_load(const struct image_dir *dir, struct sysv_objects **out);
void sysv_objects_free(struct sysv_objects *o);
/* In the new IPC namespace cryo is in, before any process exists: makes
 * every set with its id and values, every queue with its id and messages,
 * then gives each its owner and mode. */
int sysv_sem_create(const struct sysv_objects *o);
int sysv_msg_create(const struct sysv_objects *o);

/* Writes @id to /proc/sys/kernel/@name ("sem_next_id"), which makes the
 * next set, queue or segment take that id; logs and fails naming @what. */
int ipc_next_id_write(const char *name, int id, const char *what);

#endif
