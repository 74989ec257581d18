/* criu's RPC on the wire: one protobuf message per SOCK_SEQPACKET packet,
 * with at most one fd beside it (SCM_RIGHTS). Shared by `cryo swrk` and
 * libcryo, so it logs nothing: callers say what failed. */
#ifndef CRYO_RPC_WIRE_H
#define CRYO_RPC_WIRE_H

#include <protobuf-c/protobuf-c.h>

/* The largest message either side accepts. */
#define RPC_MAX_MSG (1 << 20)

/* Sends @msg as one packet, with @fd attached when it is >= 0. */
int rpc_send(int sk, const ProtobufCMessage *msg, int fd);

/* Receives one packet and unpacks it as a @desc message into *@msg (free
 * it with protobuf_c_message_free_unpacked). An fd sent with it goes to
 * *@fd (-1: none; NULL: closed). -ENOTCONN: the peer closed the
 * connection; -EBADMSG: the packet is not a @desc message. */
int rpc_recv(int sk, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **msg, int *fd);

#endif
