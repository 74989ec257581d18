/* What libcryo's files share: the options of one caller (criu_opts), and
 * the request calls of libcriu_call.c. Never installed. */
#ifndef CRYO_LIB_INTERNAL_H
#define CRYO_LIB_INTERNAL_H

#include "lib/criu.h"
#include "rpc/proto/rpc.pb-c.h"

/* The cryo binary started when none is given. */
#define LIBCRYO_DEFAULT_BINARY "cryo"

struct criu_opts {
	CriuOpts *rpc;			/* malloc'd throughout: freed as if unpacked */
	int (*notify)(char *action, criu_notify_arg_t na);
	enum criu_service_comm comm;
	char *service_address;		/* CRIU_COMM_SK */
	int service_fd;			/* CRIU_COMM_FD */
	char *service_binary;		/* CRIU_COMM_BIN */
};

/* The options the criu_set_* calls change (criu_init_opts makes them). */
extern criu_opts *libcryo_global_opts;

#endif
