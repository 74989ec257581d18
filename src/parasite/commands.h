/* The commands of cryo's parasite and their argument and reply layouts,
 * shared by the parasite and the code that calls it. Fixed-width types only:
 * this header is compiled into freestanding code too. */
#ifndef CRYO_PARASITE_COMMANDS_H
#define CRYO_PARASITE_COMMANDS_H

#include <stdint.h>

#include "inject/parasite-abi.h"

enum parasite_cmd {
	/* Replies with the argument bytes unchanged: exercises the channel. */
	PARASITE_CMD_ECHO = 1,
	/* struct parasite_checksum_arg -> uint64_t memory_checksum() of the range. */
	PARASITE_CMD_CHECKSUM,
	/* no argument -> struct parasite_sigaction[PARASITE_NSIG], index signo - 1. */
	PARASITE_CMD_SIGACTIONS,
	/* int32_t fd -> no payload, the fd attached to the reply. */
	PARASITE_CMD_SEND_FD,
};

struct parasite_checksum_arg {
	uint64_t addr;
	uint64_t len;
};

#define PARASITE_NSIG 64

/* The kernel's x86_64 struct sigaction, as rt_sigaction reads and writes it. */
struct parasite_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

#endif
