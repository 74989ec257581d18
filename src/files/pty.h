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

/* The most bytes queued for an end that cryo saves: the line discipline
 * holds 4096 and asks the tty layer to hold back more once fewer than 128
 * are free (n_tty's throttle threshold), so a queue below this has nothing
 * held back behind it, and fits a new pty whole. */
#define PTY_QUEUE_MAX (4096 - 128 - 1)

/* The slave's termios and window size, read through @fd (either end). */
int pty_termios_get(int fd, PtyTermios *t);
/* Whether a record's termios can be given to a tty. */
bool pty_termios_valid(const PtyTermios *t);
/* Sets them through @fd (either end). */
int pty_termios_set(int fd, const PtyTermios *t);

/* The bytes queued for reading on @fd (TIOCINQ). */
int pty_queue_count(int fd, size_t *out);
/* Reads what is queued for @fd (a slave, or a master) to read (@queued
 * bytes, TIOCINQ) into
 * *@out (to free), *@len bytes; never waits for more. In canonical mode
 * that is the complete lines, as they must be queued again: each with its
 * end (an EOF, which read() leaves out, is put back), and every character
 * inside that the line discipline would act on escaped with literal-next.
 * A line still being typed is not seen (nor counted by TIOCINQ).
 * -EOPNOTSUPP, before reading anything, for canonical mode with EXTPROC. */
int pty_queue_drain(int fd, bool slave, size_t queued, char **out, size_t *len);
/* Queues @buf for reading on @tty_fd again, byte for byte: with the
 * termios behind @termios_fd (the slave's) made verbatim for the time of
 * it, or as it is with -1 (a master's, always raw). */
int pty_queue_push(int tty_fd, int termios_fd, const char *buf, size_t len);

/* pty_make.c: the kind's create_group, take_terminal and set_foreground. */
int pty_create_group(struct restore_ctx *r, const struct file_obj *const *members, size_t n,
		     int *fds);
int pty_take_terminal(const struct files_image *img, const struct file_obj *f, int fd, pid_t sid);
int pty_set_foreground(const struct files_image *img, const struct file_obj *f, int fd,
		       pid_t sid);

#endif
