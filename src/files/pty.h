/* What the pty kind (pty.c) uses of pty_state.c: a pair's termios and
 * window size, and the bytes queued for either end, read out and written
 * back. Private to the two files. */
#ifndef CRYO_FILES_PTY_H
#define CRYO_FILES_PTY_H

#include <stdbool.h>
#include <stddef.h>

#include "files/kind.h"
#include "images/proto/pty.pb-c.h"

/* The Unix98 pty devices: the master's /dev/ptmx (and a devpts
 * instance's ptmx), the slaves' majors (Documentation/admin-guide/
 * devices.txt: 136-143). */
#define PTY_MASTER_MAJOR 5
#define PTY_MASTER_MINOR 2
#define PTY_SLAVE_MAJOR_FIRST 136
#define PTY_SLAVE_MAJOR_LAST 143

/* The slave's termios and window size, read through @fd (either end). */
int pty_termios_get(int fd, PtyTermios *t);
/* Whether a record's termios can be given to a tty. */
bool pty_termios_valid(const PtyTermios *t);
/* Sets them through @fd (either end). */
int pty_termios_set(int fd, const PtyTermios *t);
bool pty_termios_canonical(const PtyTermios *t);

/* The bytes queued for reading on @fd (TIOCINQ). */
int pty_queue_count(int fd, size_t *out);
/* Reads exactly @len queued bytes from @fd into *@out (to free); -EIO when
 * fewer were there. Never waits for more. */
int pty_queue_drain(int fd, size_t len, char **out);
/* Queues @buf for reading on @tty_fd again, byte for byte: with the
 * termios behind @termios_fd (the slave's) made verbatim for the time of
 * it, or as it is with -1 (a master's, always raw). -EINVAL in canonical
 * mode, which would take the bytes as lines being edited. */
int pty_queue_push(int tty_fd, int termios_fd, const char *buf, size_t len);

/* pty_make.c: the kind's create_group, take_terminal and set_foreground. */
int pty_create_group(struct restore_ctx *r, const struct file_obj *const *members, size_t n,
		     int *fds);
int pty_take_terminal(const struct files_image *img, const struct file_obj *f, int fd, pid_t sid);
int pty_set_foreground(const struct files_image *img, const struct file_obj *f, int fd,
		       pid_t sid);

#endif
