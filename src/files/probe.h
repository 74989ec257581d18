/* Taking and releasing a probe of one fd, or of one mapping's file, of a
 * stopped task (probe.c), for dump.c. The probe itself and the fdinfo helpers are in kind.h. */
#ifndef CRYO_FILES_PROBE_H
#define CRYO_FILES_PROBE_H

#include "files/internal.h"

/* Fills @p for fd @fd of @pid (@pidfd refers to it). @cloexec: the fd's
 * close-on-exec bit when known (0 or 1; fd_flags.c), which spares a socket
 * its fdinfo and link; -1 when not. On failure @p holds nothing to
 * release. */
int probe_fd(int pidfd, pid_t pid, int fd, int cloexec, struct fd_probe *p);
/* Fills @p for the file mapped at [@start, @end) in @pid; fd is -1. */
int probe_mapping(pid_t pid, uint64_t start, uint64_t end, struct fd_probe *p);
void probe_release(struct fd_probe *p);

#endif
