/* POSIX message queues of a tree's own IPC namespace (its mqueue
 * filesystem): each with its name, owner, mode, limits and messages, made
 * again in the new namespace restore makes (ns/ipc.c). There is no peek:
 * dump takes every message of a queue and sends them all back at once, in
 * the order they came, before the tree runs again. A queue with a
 * notification registered (mq_notify) is refused, since its refilling
 * would fire it. In cryo's own namespace queues outlive the tree, as files
 * do, and are not saved. */
#ifndef CRYO_IPC_POSIX_MQ_H
#define CRYO_IPC_POSIX_MQ_H

#include "images/image.h"
#include "images/proto/ipc_ns.pb-c.h"

/* The largest message size saved: a message must fit in a record. */
#define POSIX_MQ_MSGSIZE_MAX (8 << 20)
/* The kernel's ceiling on mq_maxmsg (HARD_MSGMAX). */
#define POSIX_MQ_MAXMSG_MAX 65536

/* Writes posix-mq.img and each queue's messages for every queue of the
 * IPC namespace cryo is in now; @who names it in messages. */
int posix_mq_dump(struct image_dir *dir, const char *who);

int posix_mq_image_check(const struct image *img, const struct image_dir *dir, int id);
int posix_mq_data_image_check(const struct image *img, const struct image_dir *dir, int id);

struct posix_mq_set;
int posix_mq_load(const struct image_dir *dir, struct posix_mq_set **out);
size_t posix_mq_count(const struct posix_mq_set *set);
/* In the new IPC namespace cryo is in, before any process exists. */
int posix_mq_create(const struct posix_mq_set *set);
void posix_mq_free(struct posix_mq_set *set);

#endif
