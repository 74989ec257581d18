/* The tests' own client of criu's RPC: starts `cryo swrk FD` on a
 * socketpair and exchanges messages one by one, so that each answer can be
 * checked field by field. */
#ifndef CRYO_TESTS_RPC_CLIENT_H
#define CRYO_TESTS_RPC_CLIENT_H

#include <stdbool.h>
#include <sys/types.h>

#include "rpc/proto/rpc.pb-c.h"

struct swrk {
	pid_t pid;
	int sk;
};

/* Starts cryo swrk with @keep_fd (>= 0) inherited at the same number. */
bool swrk_start(struct swrk *s, int keep_fd);
/* Closes the socket and reaps cryo; its exit status, or -1 on timeout. */
int swrk_stop(struct swrk *s);

bool swrk_send(struct swrk *s, const CriuReq *req);
/* The next answer, or NULL (the reason is in why); free with criu_resp__free_unpacked. */
CriuResp *swrk_recv(struct swrk *s);
/* As swrk_recv(), with the fd sent beside the answer in *@fd (-1: none). */
CriuResp *swrk_recv_fd(struct swrk *s, int *fd);
/* Sends @req and returns the first answer. */
CriuResp *swrk_call(struct swrk *s, const CriuReq *req);
/* Acks a notification, with @success. */
bool swrk_ack(struct swrk *s, bool success);

#endif
