/* The contract between the injection library and any parasite it loads:
 * how the parasite is started and how messages are framed on the channel.
 * Fixed-width types only: this header is also compiled into freestanding
 * code. What a command means is up to the parasite and its caller. */
#ifndef CRYO_INJECT_PARASITE_ABI_H
#define CRYO_INJECT_PARASITE_ABI_H

#include <stdint.h>

/* Written by the injector just above the blob in the parasite's area; its
 * address is the entry point's first argument (rdi). */
struct inj_parasite_args {
	int32_t channel_fd;	/* connected SOCK_STREAM unix socket */
	uint32_t reserved;
	/* If the channel breaks before FINI, the injector is gone: the parasite
	 * must then set rsp to this and call rt_sigreturn (15), which puts the
	 * task back in its own state. */
	uint64_t sigreturn_sp;
};

/* Every message, either way, is this header followed by @len bytes. A reply
 * carries the command it answers and the parasite's status (0 or -errno);
 * an fd passed along rides on the header's first byte as SCM_RIGHTS. */
struct inj_msg {
	uint32_t cmd;
	int32_t status;
	uint64_t len;
};

/* The one command every parasite must understand: answer it (no payload)
 * and read the channel again; the injector then stops the thread in that
 * read and takes it back. A read that fails instead means the injector is
 * gone: the parasite returns through sigreturn_sp. */
#define INJ_CMD_FINI 0

/* Upper bound on one message's payload: the parasite maps a buffer of this
 * size at most, and the injector refuses to send or accept more. */
#define INJ_MSG_MAX (1ULL << 30)

#endif
