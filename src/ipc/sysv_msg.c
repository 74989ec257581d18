/* SysV message queues of a tree's own IPC namespace: found with
 * msgctl(MSG_STAT_ANY) over every index the namespace uses; each message
 * is copied with msgrcv(MSG_COPY | IPC_NOWAIT), which leaves the queue as
 * it was, so a failed dump takes nothing from the tree. Restore makes each
 * queue with its id (msg_next_id), sends its messages in order, then sets
 * its size limit, owner and mode. Not saved: the pids of the last send and
 * receive, and the times. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "ipc/sysv_objects.h"

#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif
#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

/* A message as msgrcv() and msgsnd() take it. */
struct message {
	long type;
	char text[];
};

/* Writes the messages of queue @id (@nr of them, @bytes in all) to its
 * sysv-msg-data-ID.img. */
static int dump_messages(struct image_dir *dir, int id, size_t nr, size_t bytes,
			 const char *who)
{
	_cleanup_free_ struct message *m = malloc(sizeof(*m) + bytes + 1);
	struct image_writer *w;
	int ret;

	if (!m)
		return -ENOMEM;
	ret = image_open_write(dir, IMG_SYSV_MSG_DATA, id, &w);
	if (ret)
		return ret;
	for (size_t i = 0; i < nr && !ret; i++) {
		ssize_t n = msgrcv(id, m, bytes + 1, (long)i, MSG_COPY | IPC_NOWAIT);
		SysvMsg rec = SYSV_MSG__INIT;

		if (n < 0) {
			if (errno == ENOSYS)
				pr_err("dump: %s: SysV message queue %d: this kernel cannot copy a "
				       "message without taking it (MSG_COPY needs "
				       "CONFIG_CHECKPOINT_RESTORE)", who, id);
			else
				pr_err("dump: %s: SysV message queue %d: cannot copy message %zu of "
				       "%zu: %s", who, id, i, nr, strerror(errno));
			ret = errno == ENOSYS ? -EOPNOTSUPP : -EIO;
			break;
		}
		rec.type = m->type;
		rec.text.len = (size_t)n;
		rec.text.data = (uint8_t *)m->text;
		ret = image_write_record(w, &rec.base);
	}
	if (ret) {
		image_abort(w);
		return ret;
	}
	return image_finish(w);
}

int sysv_msg_dump(struct image_dir *dir, const char *who)
{
	struct msginfo info;
	struct image_writer *w = NULL;
	int max_index = msgctl(0, MSG_INFO, (struct msqid_ds *)&info), ret = 0;
	size_t nr = 0;

	if (max_index < 0)
		return pr_errno_ret("dump: %s: cannot list the SysV message queues (MSG_INFO)",
				    who);
	for (int index = 0; index <= max_index && !ret; index++) {
		SysvMsgQueue rec = SYSV_MSG_QUEUE__INIT;
		struct msqid_ds ds;
		int id = msgctl(index, MSG_STAT_ANY, &ds);

		if (id < 0) {
			if (errno != EINVAL && errno != EIDRM)
				ret = pr_errno_ret("dump: %s: cannot read SysV message queue at "
						   "index %d", who, index);
			continue;
		}
		rec.id = id;
		rec.key = (uint32_t)ds.msg_perm.__key;
		rec.mode = ds.msg_perm.mode & 0777;
		rec.uid = ds.msg_perm.uid;
		rec.gid = ds.msg_perm.gid;
		rec.qbytes = ds.msg_qbytes;
		rec.nr_messages = (uint32_t)ds.msg_qnum;
		rec.nr_bytes = ds.__msg_cbytes;
		/* A message must fit in a record of the image. */
		if (rec.nr_bytes > IMG_RECORD_MAX / 2) {
			pr_err("dump: %s: SysV message queue %d holds %llu bytes: queues over %u "
			       "bytes are not supported", who, id, (unsigned long long)rec.nr_bytes,
			       IMG_RECORD_MAX / 2);
			ret = -EOPNOTSUPP;
			break;
		}
		ret = dump_messages(dir, id, rec.nr_messages, rec.nr_bytes, who);
		if (!ret && !w)
			ret = image_open_write(dir, IMG_SYSV_MSG, 0, &w);
		if (!ret)
			ret = image_write_record(w, &rec.base);
		nr++;
	}
	if (ret) {
		if (w)
			image_abort(w);
		return ret;
	}
	if (w)
		ret = image_finish(w);
	if (!ret && nr)
		pr_info("dump: %s: %zu SysV message queues", who, nr);
	return ret;
}

/* Sends the saved messages of queue @q, in order, into the new queue. */
static int send_messages(const struct sysv_msg_queue *q)
{
	const SysvMsgQueue *r = q->rec;
	_cleanup_free_ struct message *m = malloc(sizeof(*m) + r->nr_bytes + 1);

	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < q->data->nr_records; i++) {
		const SysvMsg *msg = (const SysvMsg *)q->data->records[i].msg;

		m->type = (long)msg->type;
		/* An empty message's bytes may have no buffer at all. */
		if (msg->text.len)
			memcpy(m->text, msg->text.data, msg->text.len);
		if (msgsnd(r->id, m, msg->text.len, IPC_NOWAIT) < 0)
			return pr_errno_ret("restore: SysV message queue %d: cannot send message "
					    "%zu (%zu bytes, type %lld) again%s", r->id, i,
					    msg->text.len, (long long)msg->type,
					    errno == EINVAL ? " (larger than kernel.msgmax?)" : "");
	}
	return 0;
}

/* Sets the queue's limit, owner and mode; @qbytes may be raised first so
 * that every saved message fits. */
static int set_queue(const SysvMsgQueue *r, uint64_t qbytes)
{
	struct msqid_ds ds;

	if (msgctl(r->id, IPC_STAT, &ds) < 0)
		return pr_errno_ret("restore: SysV message queue %d: cannot read it back", r->id);
	ds.msg_qbytes = qbytes;
	ds.msg_perm.uid = r->uid;
	ds.msg_perm.gid = r->gid;
	ds.msg_perm.mode = r->mode;
	if (msgctl(r->id, IPC_SET, &ds) < 0)
		return pr_errno_ret("restore: SysV message queue %d: cannot set its size limit "
				    "%llu, owner %u:%u and mode %o", r->id,
				    (unsigned long long)qbytes, r->uid, r->gid, r->mode);
	return 0;
}

static int make_queue(const struct sysv_msg_queue *q)
{
	const SysvMsgQueue *r = q->rec;
	int ret = ipc_next_id_write("msg_next_id", r->id, "SysV message queue"), id;

	if (ret)
		return ret;
	id = msgget(r->key ? (key_t)r->key : IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600);
	if (id < 0)
		return pr_errno_ret("restore: SysV message queue %d (key %#x): cannot make it",
				    r->id, r->key);
	if (id != r->id) {
		msgctl(id, IPC_RMID, NULL);
		pr_err("restore: SysV message queue %d: made with id %d instead", r->id, id);
		return -EEXIST;
	}
	/* Its limit may have been lowered below what it holds. */
	ret = set_queue(r, r->qbytes > r->nr_bytes ? r->qbytes : r->nr_bytes);
	if (!ret)
		ret = send_messages(q);
	if (!ret)
		ret = set_queue(r, r->qbytes);
	return ret;
}

int sysv_msg_create(const struct sysv_objects *o)
{
	for (size_t i = 0; i < o->nr_queues; i++) {
		int ret = make_queue(&o->queues[i]);

		if (ret)
			return ret;
	}
	if (o->nr_queues)
		pr_info("restore: %zu SysV message queues made", o->nr_queues);
	return 0;
}
