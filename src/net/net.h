/* What src/net offers the rest of cryo besides its kinds (which are in the
 * table of src/files): naming a socket no kind takes. */
#ifndef CRYO_NET_NET_H
#define CRYO_NET_NET_H

#include <stddef.h>

/* Writes what the socket @fd is and why cryo refuses it into @buf:
 * "TCP established: needs --tcp-established (not supported yet)",
 * "unix stream socket, connected: not supported yet". */
void net_describe_socket(int fd, char *buf, size_t size);

#endif
