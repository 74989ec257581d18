/* A program in an IPC namespace of its own (the runner unshares it) that
 * fills it: limits and *_next_id sysctls set, three semaphore sets of which
 * the middle one is removed (so the ids have a gap), one with a key, owner
 * and mode of its own; a message queue with a key holding three messages
 * of other types and sizes (one empty), its size limit, owner and mode
 * changed, and an empty private queue; a segment with a key, attached and
 * filled, and one that nobody attaches, filled in part; a POSIX message
 * queue with messages of several priorities, its owner and mode changed,
 * held by a non-blocking read-only fd, and an empty one that no fd holds. On SIGTERM it checks that it is still in a namespace other than
 * init's and that everything is as it was, in the same ids, then reads the
 * messages in their order and uses a semaphore. */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

#define SEM_KEY 0x5e3a0001
#define MSG_KEY 0x5e3a0002
#define SHM_KEY 0x5e3a0003
#define LONE_KEY 0x5e3a0004
#define LONE_SIZE (64 * 4096)
#define SEG_SIZE 8192
#define BIG 5000

#define MQ_FULL "/cryo-ipc-full"
#define MQ_EMPTY "/cryo-ipc-empty"

/* In the order mq_receive() gives them: highest priority, then oldest. */
static const struct {
	unsigned int prio;
	const char *text;
} mq_messages[] = { { 9, "urgent" }, { 4, "first of 4" }, { 4, "second of 4" }, { 0, "" } };

static mqd_t mq_full;

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static const struct {
	const char *name, *value;
} sysctls[] = {
	{ "kernel/msgmax", "10000" },
	{ "kernel/msgmnb", "40000" },
	{ "kernel/sem", "250\t64000\t40\t128" },
	{ "kernel/shmmni", "1000" },
	{ "fs/mqueue/msg_max", "20" },
};

static const unsigned short sem_values[3] = { 1, 7, 32767 };

static struct {
	long type;
	char text[BIG];
} msg;

static int sem_a, sem_gone, sem_b, queue, private_queue, seg_id, lone_id;
static char *seg;

static bool write_sysctl(const char *name, const char *value)
{
	char path[96];
	int fd;
	bool ok;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	fd = open(path, O_WRONLY);
	ok = fd >= 0 && write(fd, value, strlen(value)) == (ssize_t)strlen(value);
	if (fd >= 0)
		close(fd);
	return PROG_CHECK(ok, "writing %s", path);
}

static void read_sysctl(const char *name, char *buf, size_t size)
{
	char path[96];
	int fd;
	ssize_t n = -1;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	fd = open(path, O_RDONLY);
	if (fd >= 0)
		n = read(fd, buf, size - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
}

static bool send(int q, long type, size_t len, char fill)
{
	msg.type = type;
	memset(msg.text, fill, len);
	return PROG_CHECK(msgsnd(q, &msg, len, IPC_NOWAIT) == 0, "sending a %zu-byte message",
			  len);
}

/* Writes (or with @check, checks) pages 3 and 40 of the lone segment and
 * a zero in page 10, through an attachment of its own. */
static bool fill_lone_or_check(bool check)
{
	char *at = shmat(lone_id, NULL, 0);
	bool ok = true;

	if (!PROG_CHECK(at != (void *)-1, "attaching segment %d", lone_id))
		return false;
	for (size_t i = 0; i < 4096 && ok; i++) {
		if (check)
			ok = PROG_CHECK(at[3 * 4096 + i] == (char)(i + 1) &&
					at[40 * 4096 + i] == (char)(i + 2) && !at[10 * 4096 + i],
					"byte %zu of pages 3, 10 and 40 of segment %d", i, lone_id);
		else
			at[3 * 4096 + i] = (char)(i + 1), at[40 * 4096 + i] = (char)(i + 2);
	}
	shmdt(at);
	return ok;
}

static bool fill_lone(void)
{
	return fill_lone_or_check(false);
}

static bool set_up_posix_queues(void)
{
	struct mq_attr attr = { .mq_maxmsg = 8, .mq_msgsize = 128 };
	/* Sent out of order; the two of priority 4 in theirs. */
	static const unsigned int order[] = { 3, 1, 0, 2 };
	mqd_t q = mq_open(MQ_FULL, O_CREAT | O_EXCL | O_WRONLY, 0600, &attr);
	bool ok = PROG_CHECK(q >= 0, "making %s", MQ_FULL);

	for (size_t i = 0; ok && i < 4; i++) {
		unsigned int k = order[i];

		ok = PROG_CHECK(mq_send(q, mq_messages[k].text, strlen(mq_messages[k].text),
					mq_messages[k].prio) == 0, "sending to %s", MQ_FULL);
	}
	ok = ok && PROG_CHECK(fchown(q, 1000, 1001) == 0 && fchmod(q, 0640) == 0,
			      "owner and mode of %s", MQ_FULL);
	if (q >= 0)
		mq_close(q);
	mq_full = mq_open(MQ_FULL, O_RDONLY | O_NONBLOCK);
	q = mq_open(MQ_EMPTY, O_CREAT | O_EXCL | O_RDWR, 0604, NULL);
	ok = ok && PROG_CHECK(mq_full >= 0 && q >= 0, "opening the POSIX queues");
	if (q >= 0)
		mq_close(q);
	return ok;
}

static void check_posix_queues(void)
{
	struct mq_attr attr;
	struct stat st;
	char text[128];
	unsigned int prio;
	mqd_t q;

	if (PROG_CHECK(mq_getattr(mq_full, &attr) == 0, "mq_getattr of %s", MQ_FULL))
		PROG_CHECK(attr.mq_flags == O_NONBLOCK && attr.mq_maxmsg == 8 &&
			   attr.mq_msgsize == 128 && attr.mq_curmsgs == 4,
			   "%s: flags %#lx, %ld of %ld messages of %ld bytes", MQ_FULL,
			   attr.mq_flags, attr.mq_curmsgs, attr.mq_maxmsg, attr.mq_msgsize);
	if (PROG_CHECK(fstat(mq_full, &st) == 0, "fstat of %s", MQ_FULL))
		PROG_CHECK(st.st_uid == 1000 && st.st_gid == 1001 && (st.st_mode & 0777) == 0640,
			   "%s: owner %u:%u, mode %o", MQ_FULL, st.st_uid, st.st_gid,
			   st.st_mode & 0777);
	for (size_t i = 0; i < 4; i++) {
		ssize_t n = mq_receive(mq_full, text, sizeof(text), &prio);

		PROG_CHECK(n == (ssize_t)strlen(mq_messages[i].text) &&
			   !memcmp(text, mq_messages[i].text, (size_t)n) &&
			   prio == mq_messages[i].prio, "message %zu of %s: %zd bytes, priority %u",
			   i, MQ_FULL, n, prio);
	}
	PROG_CHECK(mq_receive(mq_full, text, sizeof(text), &prio) < 0 && errno == EAGAIN,
		   "%s is not empty, or its fd blocks", MQ_FULL);
	q = mq_open(MQ_EMPTY, O_RDONLY | O_NONBLOCK);
	if (PROG_CHECK(q >= 0, "opening %s by name", MQ_EMPTY)) {
		PROG_CHECK(mq_getattr(q, &attr) == 0 && attr.mq_curmsgs == 0 &&
			   attr.mq_maxmsg == 10, "%s: %ld of %ld messages", MQ_EMPTY,
			   attr.mq_curmsgs, attr.mq_maxmsg);
		PROG_CHECK(fstat(q, &st) == 0 && (st.st_mode & 0777) == 0604, "mode of %s",
			   MQ_EMPTY);
		mq_close(q);
	}
}

static bool set_up(void)
{
	struct semid_ds sds;
	struct msqid_ds mds;
	bool ok = true;

	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++)
		ok = ok && write_sysctl(sysctls[i].name, sysctls[i].value);
	sem_a = semget(SEM_KEY, 3, IPC_CREAT | IPC_EXCL | 0600);
	sem_gone = semget(IPC_PRIVATE, 1, 0600);
	sem_b = semget(IPC_PRIVATE, 1, 0600);
	if (!PROG_CHECK(sem_a >= 0 && sem_gone >= 0 && sem_b >= 0, "making semaphore sets"))
		return false;
	semctl(sem_gone, 0, IPC_RMID);
	ok = ok && PROG_CHECK(semctl(sem_a, 0, SETALL, (union semun){ .array =
				     (unsigned short *)sem_values }) == 0, "SETALL");
	ok = ok && PROG_CHECK(semctl(sem_b, 0, SETVAL, (union semun){ .val = 42 }) == 0, "SETVAL");
	semctl(sem_a, 0, IPC_STAT, (union semun){ .buf = &sds });
	sds.sem_perm.uid = 1000;
	sds.sem_perm.gid = 2000;
	sds.sem_perm.mode = 0640;
	ok = ok && PROG_CHECK(semctl(sem_a, 0, IPC_SET, (union semun){ .buf = &sds }) == 0,
			      "IPC_SET of a semaphore set");

	queue = msgget(MSG_KEY, IPC_CREAT | IPC_EXCL | 0600);
	private_queue = msgget(IPC_PRIVATE, 0600);
	if (!PROG_CHECK(queue >= 0 && private_queue >= 0, "making message queues"))
		return false;
	ok = ok && send(queue, 3, 5, 'h') && send(queue, 1, BIG, 'b') && send(queue, 7, 0, 0);
	msgctl(queue, IPC_STAT, &mds);
	mds.msg_qbytes = 20000;
	mds.msg_perm.uid = 3000;
	mds.msg_perm.mode = 0604;
	ok = ok && PROG_CHECK(msgctl(queue, IPC_SET, &mds) == 0, "IPC_SET of a queue");

	seg_id = shmget(SHM_KEY, SEG_SIZE, IPC_CREAT | IPC_EXCL | 0600);
	seg = seg_id >= 0 ? shmat(seg_id, NULL, 0) : (void *)-1;
	if (!PROG_CHECK(seg != (void *)-1, "making and attaching a segment"))
		return false;
	for (size_t i = 0; i < SEG_SIZE; i++)
		seg[i] = (char)(i * 7 + 3);
	/* Pages 3 and 40 written, the rest holes; then nobody attaches it. */
	lone_id = shmget(LONE_KEY, LONE_SIZE, IPC_CREAT | IPC_EXCL | 0640);
	if (!PROG_CHECK(lone_id >= 0, "making a second segment"))
		return false;
	if (!fill_lone())
		return false;
	if (!set_up_posix_queues())
		return false;
	/* The next set made takes id 77. */
	return ok && write_sysctl("kernel/sem_next_id", "77");
}

/* The kernel's initial IPC namespace always has this inode
 * (PROC_IPC_INIT_INO). */
#define INIT_IPC_INO 0xEFFFFFFFUL

static void check_namespace(void)
{
	struct stat self;

	if (PROG_CHECK(stat("/proc/self/ns/ipc", &self) == 0, "stat of /proc/self/ns/ipc"))
		PROG_CHECK(self.st_ino != INIT_IPC_INO, "in the initial IPC namespace");
}

static void check_sysctls(void)
{
	char got[128];

	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		read_sysctl(sysctls[i].name, got, sizeof(got));
		PROG_CHECK(!strcmp(got, sysctls[i].value), "%s is '%s', not '%s'",
			   sysctls[i].name, got, sysctls[i].value);
	}
	read_sysctl("kernel/sem_next_id", got, sizeof(got));
	PROG_CHECK(!strcmp(got, "77"), "sem_next_id is '%s', not 77", got);
}

static void check_semaphores(void)
{
	unsigned short values[3] = { 0 };
	struct semid_ds sds;
	struct sembuf take = { .sem_num = 1, .sem_op = -7, .sem_flg = IPC_NOWAIT };

	PROG_CHECK(semget(SEM_KEY, 0, 0) == sem_a, "key %#x finds set %d", SEM_KEY, sem_a);
	if (PROG_CHECK(semctl(sem_a, 0, IPC_STAT, (union semun){ .buf = &sds }) == 0,
		       "IPC_STAT of set %d", sem_a))
		PROG_CHECK(sds.sem_nsems == 3 && sds.sem_perm.uid == 1000 &&
			   sds.sem_perm.gid == 2000 && (sds.sem_perm.mode & 0777) == 0640,
			   "set %d: %lu semaphores, owner %u:%u, mode %o", sem_a,
			   (unsigned long)sds.sem_nsems, sds.sem_perm.uid, sds.sem_perm.gid,
			   sds.sem_perm.mode & 0777);
	semctl(sem_a, 0, GETALL, (union semun){ .array = values });
	for (int i = 0; i < 3; i++)
		PROG_CHECK(values[i] == sem_values[i], "semaphore %d is %u, not %u", i, values[i],
			   sem_values[i]);
	PROG_CHECK(semctl(sem_b, 0, GETVAL) == 42, "the private set %d's value", sem_b);
	PROG_CHECK(semctl(sem_gone, 0, IPC_STAT, (union semun){ .buf = &sds }) < 0,
		   "the removed set %d is back", sem_gone);
	PROG_CHECK(semop(sem_a, &take, 1) == 0 && semctl(sem_a, 1, GETVAL) == 0,
		   "taking 7 from semaphore 1");
}

static void check_messages(void)
{
	static const struct {
		long type;
		size_t len;
		char fill;
	} want[] = { { 3, 5, 'h' }, { 1, BIG, 'b' }, { 7, 0, 0 } };
	struct msqid_ds mds;

	PROG_CHECK(msgget(MSG_KEY, 0) == queue, "key %#x finds queue %d", MSG_KEY, queue);
	if (PROG_CHECK(msgctl(queue, IPC_STAT, &mds) == 0, "IPC_STAT of queue %d", queue))
		PROG_CHECK(mds.msg_qnum == 3 && mds.msg_qbytes == 20000 &&
			   mds.msg_perm.uid == 3000 && (mds.msg_perm.mode & 0777) == 0604,
			   "queue %d: %lu messages, limit %lu, uid %u, mode %o", queue,
			   (unsigned long)mds.msg_qnum, (unsigned long)mds.msg_qbytes,
			   mds.msg_perm.uid, mds.msg_perm.mode & 0777);
	for (size_t i = 0; i < 3; i++) {
		ssize_t n = msgrcv(queue, &msg, sizeof(msg.text), 0, IPC_NOWAIT);
		bool same = n == (ssize_t)want[i].len && msg.type == want[i].type;

		for (size_t j = 0; same && j < want[i].len; j++)
			same = msg.text[j] == want[i].fill;
		PROG_CHECK(same, "message %zu: %zd bytes of type %ld", i, n, msg.type);
	}
	if (PROG_CHECK(msgctl(private_queue, IPC_STAT, &mds) == 0, "IPC_STAT of queue %d",
		       private_queue))
		PROG_CHECK(mds.msg_qnum == 0, "the private queue holds %lu messages",
			   (unsigned long)mds.msg_qnum);
}

static void check_segment(void)
{
	bool same = true;

	for (size_t i = 0; i < SEG_SIZE && same; i++)
		same = PROG_CHECK(seg[i] == (char)(i * 7 + 3), "byte %zu of the segment", i);
	PROG_CHECK(shmget(SHM_KEY, 0, 0) == seg_id, "key %#x finds segment %d", SHM_KEY, seg_id);
	PROG_CHECK(shmget(LONE_KEY, 0, 0) == lone_id, "key %#x finds segment %d", LONE_KEY,
		   lone_id);
	fill_lone_or_check(true);
}

int main(int argc, char **argv)
{
	prog_init(argc, argv);
	if (!set_up())
		prog_finish();
	prog_ready();
	prog_wait_sigterm();
	check_namespace();
	check_sysctls();
	check_semaphores();
	check_messages();
	check_segment();
	check_posix_queues();
	prog_finish();
}
