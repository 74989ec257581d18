/* Handlers of the parasite's commands, one file each. A handler sends its
 * own reply and returns < 0 only when the channel broke. */
#ifndef CRYO_PARASITE_HANDLERS_H
#define CRYO_PARASITE_HANDLERS_H

#include "inject/parasite-abi.h"

long cmd_checksum(int sock, const struct inj_msg *req, const void *arg);
long cmd_sigactions(int sock, const struct inj_msg *req);
long cmd_send_fd(int sock, const struct inj_msg *req, const void *arg);
long cmd_itimers(int sock, const struct inj_msg *req);
long cmd_thread_state(int sock, const struct inj_msg *req);
long cmd_prctl(int sock, const struct inj_msg *req);
long cmd_posix_timers(int sock, const struct inj_msg *req, void *arg);
long cmd_brk(int sock, const struct inj_msg *req);
long cmd_vmsplice_pages(int sock, const struct inj_msg *req, void *arg, int *fd);
long cmd_fd_flags(int sock, const struct inj_msg *req, void *arg);

#endif
