/* Taking and releasing a probe of one fd, or of one mapping's file, of a
 * stopped task (probe.c), for dump.c. The probe itself and the fdinfo helpers are in kind.h. */
#ifndef CRYO_FILES_PROBE_H
#define CRYO_FILES_PROBE_H

#include "files/internal.h"

/* Fills @p for fd @fd of @pid (@pidfd refers to it). On failure @p holds
 * nothing to release. */
int probe_fd(int pidfd, pid_t pid, int fd, struct fd_probe *p);
/* Fills @p for the file mapped at [@start, @end) in @pid; fd is -1. */
int probe_mapping(pid_t pid, uint64_t start, uint64_t end, struct fd_probe *p);
void probe_release(struct fd_probe *p);

#endif
