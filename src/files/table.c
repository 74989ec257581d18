/* The table of fd kinds, the only place that names them: which kinds cryo
 * dumps and restores, in the order they are asked to recognise an fd, and
 * the refusal of an fd that none of them takes. What each kind does is in
 * its own file (kind.h says what a kind is); a new kind is one line here
 * and one value of FileEntry.Kind (files.proto), which test_files_kinds
 * checks against each other. */
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/cleanup.h"
#include "files/internal.h"
#include "net/net.h"

extern const struct file_kind chrdev_kind;
extern const struct file_kind devtty_kind;
extern const struct file_kind epoll_kind;
extern const struct file_kind eventfd_kind;
extern const struct file_kind fanotify_kind;
extern const struct file_kind inet_socket_kind;	/* src/net */
extern const struct file_kind inotify_kind;
extern const struct file_kind memfd_kind;
extern const struct file_kind mqueue_kind;	/* src/ipc */
extern const struct file_kind netlink_socket_kind;	/* src/net */
extern const struct file_kind packet_socket_kind;	/* src/net */
extern const struct file_kind pidfd_kind;
extern const struct file_kind pipe_kind;
extern const struct file_kind pty_kind;
extern const struct file_kind regfile_kind;
extern const struct file_kind shmem_kind;
extern const struct file_kind signalfd_kind;
extern const struct file_kind timerfd_kind;
extern const struct file_kind tty_kind;
extern const struct file_kind ttydev_kind;
extern const struct file_kind tun_kind;	/* src/net */
extern const struct file_kind unix_socket_kind;	/* src/net */

/* More specific kinds come first: a pty and the shell's terminal are
 * terminals, a terminal a character device, a memfd, shared anonymous memory or a
 * POSIX message queue a regular file. */
static const struct file_kind *const kinds[] = {
	&pty_kind,
	&tty_kind,
	&devtty_kind,
	&ttydev_kind,
	&chrdev_kind,
	&tun_kind,
	&memfd_kind,
	&shmem_kind,
	&mqueue_kind,
	&regfile_kind,
	&pipe_kind,
	&eventfd_kind,
	&epoll_kind,
	&signalfd_kind,
	&timerfd_kind,
	&inotify_kind,
	&fanotify_kind,
	&pidfd_kind,
	&inet_socket_kind,
	&unix_socket_kind,
	&netlink_socket_kind,
	&packet_socket_kind,
};

size_t file_kinds(const struct file_kind *const **out)
{
	*out = kinds;
	return ARRAY_SIZE(kinds);
}

const struct file_kind *file_kind_of(FileEntry__Kind type)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i]->type == type)
			return kinds[i];
	return NULL;
}

/* What to call a file no kind takes, from its link text and type. */
static void describe_unsupported(const struct fd_probe *p, char *buf, size_t size)
{
	const char *anon = "anon_inode:";
	mode_t type = p->st.st_mode & S_IFMT;

	if (!strncmp(p->link, "socket:", 7)) {
		snprintf(buf, size, "sockets are");
	} else if (!strncmp(p->link, anon, strlen(anon))) {
		const char *name = p->link + strlen(anon);
		size_t len = strlen(name);

		/* "anon_inode:[io_uring]" and "anon_inode:inotify" both occur. */
		if (name[0] == '[' && len > 2 && name[len - 1] == ']')
			snprintf(buf, size, "%.*s files are", (int)(len - 2), name + 1);
		else
			snprintf(buf, size, "%s files are", name);
	} else if (type == S_IFCHR) {
		snprintf(buf, size, "character device %u:%u is", major(p->st.st_rdev),
			 minor(p->st.st_rdev));
	} else if (type == S_IFBLK) {
		snprintf(buf, size, "block devices are");
	} else if (type == S_IFSOCK) {
		snprintf(buf, size, "sockets are");
	} else {
		snprintf(buf, size, "files of mode %o are", (unsigned)p->st.st_mode);
	}
}

const struct file_kind *file_kind_recognise(const struct fd_probe *p)
{
	char what[128];

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i]->recognise(p))
			return kinds[i];
	/* A socket is named by family, type and state, which say why. */
	if (S_ISSOCK(p->st.st_mode) && p->dup >= 0) {
		net_describe_socket(p->dup, what, sizeof(what));
		pr_fd_err(p, "%s", what);
		return NULL;
	}
	describe_unsupported(p, what, sizeof(what));
	pr_fd_err(p, "%s not supported", what);
	return NULL;
}
