/* SysV semaphore sets of a tree's own IPC namespace: found with
 * semctl(SEM_STAT_ANY) over every index the namespace uses, saved with
 * their values (GETALL), and made again with their ids (sem_next_id),
 * values (SETALL), owner and mode. Not saved, as the kernel shows no way to
 * read them: each process's undo list (SEM_UNDO adjustments), and the pid
 * of the last semop; times are the restore's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "ipc/sysv_objects.h"

#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *info;
};

/* The record of the set at index @index, or *@id -1 when none is there. */
static int describe(int index, SysvSem *rec, unsigned short **values, const char *who)
{
	struct semid_ds ds;
	int id = semctl(index, 0, SEM_STAT_ANY, (union semun){ .buf = &ds });
	unsigned short *v;

	rec->id = -1;
	if (id < 0)
		return errno == EINVAL || errno == EIDRM ? 0 :
			pr_errno_ret("dump: %s: cannot read SysV semaphore set at index %d", who,
				     index);
	if (!ds.sem_nsems || ds.sem_nsems > SYSV_SEM_NSEMS_MAX) {
		pr_err("dump: %s: SysV semaphore set %d has %lu semaphores", who, id,
		       (unsigned long)ds.sem_nsems);
		return -EIO;
	}
	v = calloc(ds.sem_nsems, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (semctl(id, 0, GETALL, (union semun){ .array = v }) < 0) {
		free(v);
		return pr_errno_ret("dump: %s: cannot read the values of SysV semaphore set %d",
				    who, id);
	}
	rec->id = id;
	rec->key = (uint32_t)ds.sem_perm.__key;
	rec->mode = ds.sem_perm.mode & 0777;
	rec->uid = ds.sem_perm.uid;
	rec->gid = ds.sem_perm.gid;
	rec->n_values = ds.sem_nsems;
	*values = v;
	return 0;
}

int sysv_sem_dump(struct image_dir *dir, const char *who)
{
	struct seminfo info;
	struct image_writer *w = NULL;
	int max_index = semctl(0, 0, SEM_INFO, (union semun){ .info = &info }), ret = 0;
	size_t nr = 0;

	if (max_index < 0)
		return pr_errno_ret("dump: %s: cannot list the SysV semaphore sets (SEM_INFO)",
				    who);
	for (int index = 0; index <= max_index && !ret; index++) {
		_cleanup_free_ unsigned short *values = NULL;
		_cleanup_free_ uint32_t *wide = NULL;
		SysvSem rec = SYSV_SEM__INIT;

		ret = describe(index, &rec, &values, who);
		if (ret || rec.id < 0)
			continue;
		wide = calloc(rec.n_values, sizeof(*wide));
		if (!wide) {
			ret = -ENOMEM;
			break;
		}
		for (size_t i = 0; i < rec.n_values; i++)
			wide[i] = values[i];
		rec.values = wide;
		if (!w)
			ret = image_open_write(dir, IMG_SYSV_SEM, 0, &w);
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
		pr_info("dump: %s: %zu SysV semaphore sets", who, nr);
	return ret;
}

/* Makes set @s with its id, then its values, owner and mode. */
static int make_set(const SysvSem *s)
{
	_cleanup_free_ unsigned short *values = calloc(s->n_values, sizeof(*values));
	struct semid_ds ds;
	int ret, id;

	if (!values)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_values; i++)
		values[i] = (unsigned short)s->values[i];
	ret = ipc_next_id_write("sem_next_id", s->id, "SysV semaphore set");
	if (ret)
		return ret;
	id = semget(s->key ? (key_t)s->key : IPC_PRIVATE, (int)s->n_values,
		    IPC_CREAT | IPC_EXCL | 0600);
	if (id < 0)
		return pr_errno_ret("restore: SysV semaphore set %d (key %#x, %zu semaphores): "
				    "cannot make it", s->id, s->key, s->n_values);
	if (id != s->id) {
		semctl(id, 0, IPC_RMID);
		pr_err("restore: SysV semaphore set %d: made with id %d instead", s->id, id);
		return -EEXIST;
	}
	if (semctl(id, 0, SETALL, (union semun){ .array = values }) < 0)
		return pr_errno_ret("restore: SysV semaphore set %d: cannot set its values", id);
	if (semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }) < 0)
		return pr_errno_ret("restore: SysV semaphore set %d: cannot read it back", id);
	ds.sem_perm.uid = s->uid;
	ds.sem_perm.gid = s->gid;
	ds.sem_perm.mode = s->mode;
	if (semctl(id, 0, IPC_SET, (union semun){ .buf = &ds }) < 0)
		return pr_errno_ret("restore: SysV semaphore set %d: cannot set owner %u:%u and "
				    "mode %o", id, s->uid, s->gid, s->mode);
	return 0;
}

int sysv_sem_create(const struct sysv_objects *o)
{
	size_t nr = o->sem_img ? o->sem_img->nr_records : 0;

	for (size_t i = 0; i < nr; i++) {
		int ret = make_set((const SysvSem *)o->sem_img->records[i].msg);

		if (ret)
			return ret;
	}
	if (nr)
		pr_info("restore: %zu SysV semaphore sets made", nr);
	return 0;
}
