/* The subcommands of cryo. Each lives in its own cmd_*.c file and returns
 * the process exit status. */
#ifndef CRYO_COMMANDS_H
#define CRYO_COMMANDS_H

#include "cli/options.h"

int cmd_check(const struct cryo_opts *opts);
int cmd_dump(const struct cryo_opts *opts);
/* criu's pre-dump (dump/predump.c): the tree's memory, the tree runs on. */
int cmd_pre_dump(const struct cryo_opts *opts);
int cmd_restore(const struct cryo_opts *opts);
int cmd_show(const struct cryo_opts *opts);
int cmd_cpuinfo(const struct cryo_opts *opts);
/* src/rpc: criu's RPC service. */
int cmd_swrk(const struct cryo_opts *opts);
int cmd_service(const struct cryo_opts *opts);

#endif
