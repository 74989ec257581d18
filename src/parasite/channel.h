/* The parasite's end of the command channel: whole-message receive and send
 * over the stream socket the injector connected, with an optional fd. */
#ifndef CRYO_PARASITE_CHANNEL_H
#define CRYO_PARASITE_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "inject/parasite-abi.h"

/* Reads exactly @len bytes; -EPIPE when the injector went away. */
long channel_recv(int sock, void *buf, size_t len);
/* The same, and the fd that came with them in *@fd (-1 if none). */
long channel_recv_fd(int sock, void *buf, size_t len, int *fd);
/* Sends a reply header with @len bytes of payload and, if @fd >= 0, the fd. */
long channel_reply(int sock, uint32_t cmd, int32_t status, const void *data, uint64_t len,
		   int fd);

#endif
