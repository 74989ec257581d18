/* POSIX message queues of a tree's own IPC namespace (ipc/posix_mq.h):
 * listed on the namespace's mqueue filesystem, read and written with the
 * mq_* calls by name, which reach the queues of the caller's namespace. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "ipc/posix_mq.h"

struct posix_mq_set {
	struct image *img;	/* NULL: none saved */
	struct image **data;	/* the messages of each queue */
	size_t nr;
};

/* The namespace's mqueue filesystem, as a detached mount: the one of the
 * caller's IPC namespace when the context is made; no mount of anyone's
 * shows it. */
static int open_mqueue_fs(void)
{
	int fs = fsopen("mqueue", FSOPEN_CLOEXEC), mnt = -1, dir = -1;

	if (fs < 0)
		return -errno;
	if (!fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
	if (mnt >= 0)
		dir = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		dir = -errno;
	close(fs);
	if (mnt >= 0)
		close(mnt);
	return dir;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the queues, sorted; *@nr 0 on a kernel without them. */
static int list_queues(const char *who, char ***names, size_t *nr)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;
	int dir = open_mqueue_fs();

	*names = NULL;
	*nr = 0;
	if (dir == -ENODEV)
		return 0;
	if (dir < 0) {
		pr_err("dump: %s: cannot look at its POSIX message queues (mqueue): %s", who,
		       strerror(-dir));
		return dir;
	}
	d = fdopendir(dir);
	if (!d) {
		close(dir);
		return pr_errno_ret("dump: %s: cannot list its POSIX message queues", who);
	}
	while ((de = readdir(d))) {
		char **bigger;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		bigger = reallocarray(v, n + 1, sizeof(*v));
		if (bigger)
			v = bigger;
		if (!bigger || !(v[n] = strdup(de->d_name))) {
			while (n)
				free(v[--n]);
			free(v);
			return -ENOMEM;
		}
		n++;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_names);
	*names = v;
	*nr = n;
	return 0;
}

/* Fails when a notification is registered: "... NOTIFY_PID:%d". */
static int check_notify(int q, const char *name, const char *who)
{
	char text[160], *at;
	ssize_t n = pread(q, text, sizeof(text) - 1, 0);

	if (n < 0)
		return pr_errno_ret("dump: %s: POSIX message queue /%s: cannot read its state", who,
				    name);
	text[n] = '\0';
	at = strstr(text, "NOTIFY_PID:");
	if (!at)
		return 0;
	if (atoi(at + strlen("NOTIFY_PID:"))) {
		pr_err("dump: %s: POSIX message queue /%s has a notification registered "
		       "(mq_notify): not supported", who, name);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Takes every message of @q (@attr says how many), then sends them all
 * back in the same order: the queue ends as it was. Nothing can fail
 * between the two but a send, which has the room the message left. */
static int take_and_put_back(mqd_t q, const struct mq_attr *attr, PosixMqMsg *msgs,
			     uint8_t *texts, const char *name, const char *who)
{
	long got = 0;
	int ret = 0;

	for (; got < attr->mq_curmsgs; got++) {
		unsigned int prio;
		ssize_t n = mq_receive(q, (char *)texts + got * attr->mq_msgsize,
				       (size_t)attr->mq_msgsize, &prio);

		if (n < 0) {
			ret = -errno;
			break;
		}
		msgs[got].prio = prio;
		msgs[got].text.data = texts + got * attr->mq_msgsize;
		msgs[got].text.len = (size_t)n;
	}
	for (long i = 0; i < got; i++)
		if (mq_send(q, (const char *)msgs[i].text.data, msgs[i].text.len, msgs[i].prio) &&
		    !ret) {
			pr_err("dump: %s: POSIX message queue /%s: LOST message %ld of %ld, which "
			       "could not be sent back: %s", who, name, i, got, strerror(errno));
			ret = -EIO;
		}
	if (ret == -EAGAIN)
		pr_err("dump: %s: POSIX message queue /%s: emptied by someone else while read",
		       who, name);
	else if (ret && ret != -EIO)
		pr_err("dump: %s: POSIX message queue /%s: cannot read its messages: %s", who, name,
		       strerror(-ret));
	return ret;
}

static int write_messages(struct image_dir *dir, int index, const PosixMqMsg *msgs, long n)
{
	struct image_writer *w = NULL;
	int ret = image_open_write(dir, IMG_POSIX_MQ_DATA, index, &w);

	for (long i = 0; !ret && i < n; i++)
		ret = image_write_record(w, &msgs[i].base);
	if (ret) {
		if (w)
			image_abort(w);
		return ret;
	}
	return image_finish(w);
}

/* Saves queue @name as record @index. */
static int dump_queue(struct image_dir *dir, struct image_writer *w, int index,
		      const char *name, const char *who)
{
	_cleanup_free_ PosixMqMsg *msgs = NULL;
	_cleanup_free_ uint8_t *texts = NULL;
	PosixMq rec = POSIX_MQ__INIT;
	sigset_t all, old;
	struct mq_attr attr;
	struct stat st;
	char path[300];
	mqd_t q;
	int ret;

	snprintf(path, sizeof(path), "/%s", name);
	q = mq_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (q < 0)
		return pr_errno_ret("dump: %s: cannot open POSIX message queue %s", who, path);
	if (fstat(q, &st) || mq_getattr(q, &attr)) {
		ret = pr_errno_ret("dump: %s: cannot read POSIX message queue %s", who, path);
		goto out;
	}
	if (attr.mq_msgsize > POSIX_MQ_MSGSIZE_MAX || attr.mq_maxmsg > POSIX_MQ_MAXMSG_MAX) {
		pr_err("dump: %s: POSIX message queue %s takes messages of %ld bytes: over %d "
		       "is not supported", who, path, attr.mq_msgsize, POSIX_MQ_MSGSIZE_MAX);
		ret = -EOPNOTSUPP;
		goto out;
	}
	ret = check_notify(q, name, who);
	if (ret)
		goto out;
	msgs = calloc((size_t)attr.mq_curmsgs + 1, sizeof(*msgs));
	texts = malloc((size_t)(attr.mq_curmsgs * attr.mq_msgsize) + 1);
	if (!msgs || !texts) {
		ret = -ENOMEM;
		goto out;
	}
	for (long i = 0; i < attr.mq_curmsgs; i++)
		posix_mq_msg__init(&msgs[i]);
	/* No signal may end cryo while the messages are out of the queue. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	ret = take_and_put_back(q, &attr, msgs, texts, name, who);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (!ret)
		ret = write_messages(dir, index, msgs, attr.mq_curmsgs);
	rec.name = (char *)name;
	rec.mode = st.st_mode & 0777;
	rec.uid = st.st_uid;
	rec.gid = st.st_gid;
	rec.maxmsg = attr.mq_maxmsg;
	rec.msgsize = attr.mq_msgsize;
	rec.nr_messages = (uint32_t)attr.mq_curmsgs;
	if (!ret)
		ret = image_write_record(w, &rec.base);
out:
	mq_close(q);
	return ret;
}

int posix_mq_dump(struct image_dir *dir, const char *who)
{
	struct image_writer *w = NULL;
	char **names;
	size_t nr;
	int ret = list_queues(who, &names, &nr);

	if (!ret && nr)
		ret = image_open_write(dir, IMG_POSIX_MQ, 0, &w);
	for (size_t i = 0; !ret && i < nr; i++)
		ret = dump_queue(dir, w, (int)i, names[i], who);
	if (w)
		ret = ret ? (image_abort(w), ret) : image_finish(w);
	if (!ret && nr)
		pr_info("dump: %s: %zu POSIX message queues", who, nr);
	for (size_t i = 0; i < nr; i++)
		free(names[i]);
	free(names);
	return ret;
}

/* ---- restore ------------------------------------------------------------- */

void posix_mq_free(struct posix_mq_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; set->data && i < set->nr; i++)
		image_free(set->data[i]);
	free(set->data);
	image_free(set->img);
	free(set);
}

int posix_mq_load(const struct image_dir *dir, struct posix_mq_set **out)
{
	struct posix_mq_set *set = calloc(1, sizeof(*set));
	int ret = 0;

	if (!set)
		return -ENOMEM;
	if (!faccessat(dir->fd, "posix-mq.img", F_OK, 0) || errno != ENOENT)
		ret = image_read(dir, IMG_POSIX_MQ, 0, &set->img);
	if (!ret && set->img) {
		set->data = calloc(set->img->nr_records + 1, sizeof(*set->data));
		if (!set->data)
			ret = -ENOMEM;
	}
	for (size_t i = 0; !ret && set->img && i < set->img->nr_records; i++) {
		const PosixMq *q = (const PosixMq *)set->img->records[i].msg;

		set->nr++;
		ret = image_read(dir, IMG_POSIX_MQ_DATA, (int)i, &set->data[i]);
		if (ret)
			break;
		for (size_t j = 0; j < set->data[i]->nr_records; j++)
			if (((const PosixMqMsg *)set->data[i]->records[j].msg)->text.len >
			    (uint64_t)q->msgsize)
				ret = -EBADMSG;
		if (ret || set->data[i]->nr_records != q->nr_messages) {
			image_error(set->data[i]->path, 0, "queue /%s: %zu messages, where "
				    "posix-mq.img says %u of at most %lld bytes", q->name,
				    set->data[i]->nr_records, q->nr_messages, (long long)q->msgsize);
			ret = -EBADMSG;
		}
	}
	if (ret) {
		posix_mq_free(set);
		return ret;
	}
	*out = set;
	return 0;
}

size_t posix_mq_count(const struct posix_mq_set *set)
{
	return set ? set->nr : 0;
}

static int make_queue(const PosixMq *r, const struct image *data)
{
	struct mq_attr attr = { .mq_maxmsg = r->maxmsg, .mq_msgsize = r->msgsize };
	char path[300];
	mqd_t q;
	int ret = 0;

	snprintf(path, sizeof(path), "/%s", r->name);
	q = mq_open(path, O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK | O_CLOEXEC, 0600, &attr);
	if (q < 0)
		return pr_errno_ret("restore: POSIX message queue %s (%lld messages of %lld bytes "
				    "at most): cannot make it", path, (long long)r->maxmsg,
				    (long long)r->msgsize);
	for (size_t i = 0; i < data->nr_records && !ret; i++) {
		const PosixMqMsg *m = (const PosixMqMsg *)data->records[i].msg;
		/* An empty message's bytes may have no buffer at all. */
		const char *text = m->text.len ? (const char *)m->text.data : "";

		if (mq_send(q, text, m->text.len, m->prio))
			ret = pr_errno_ret("restore: POSIX message queue %s: cannot send message "
					   "%zu again", path, i);
	}
	if (!ret && (fchown(q, r->uid, r->gid) || fchmod(q, r->mode)))
		ret = pr_errno_ret("restore: POSIX message queue %s: cannot set owner %u:%u and "
				   "mode %o", path, r->uid, r->gid, r->mode);
	mq_close(q);
	return ret;
}

int posix_mq_create(const struct posix_mq_set *set)
{
	for (size_t i = 0; i < set->nr; i++) {
		int ret = make_queue((const PosixMq *)set->img->records[i].msg, set->data[i]);

		if (ret)
			return ret;
	}
	if (set->nr)
		pr_info("restore: %zu POSIX message queues made", set->nr);
	return 0;
}
