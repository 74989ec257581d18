/* criu's --status-fd: one '\0' written to an fd of the caller's, then the
 * fd closed, once cryo is ready (status_fd.c). Which points are "ready" is
 * the callers' (restore, service). */
#ifndef CRYO_COMMON_STATUS_FD_H
#define CRYO_COMMON_STATUS_FD_H

/* Writes the byte to @fd and closes it; -1: nothing to do. A reader that
 * went away is said as a warning, never a failure: cryo is ready anyway. */
void status_ready(int fd);

#endif
