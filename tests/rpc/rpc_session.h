/* What the RPC tests share: requests through cryo swrk with their
 * notifications checked and acked, and the round-trip programs they dump. */
#ifndef CRYO_TESTS_RPC_SESSION_H
#define CRYO_TESTS_RPC_SESSION_H

#include <stdbool.h>
#include <sys/types.h>

#include "rpc_client.h"

/* The program every request test dumps (tests/roundtrip). */
#define PROG "prog_counter"

/* criu's notifications, in order, of a dump, a failed dump, a restore. */
extern const char *const dump_notes[];
extern const char *const failed_dump_notes[];
extern const char *const restore_notes[];

/* The programs of the table live beside test_roundtrip, not here. */
void use_roundtrip_programs(void);
bool has_text(const char *text, const char *part);
int open_dir(const char *path);
/* Sends @req and reads notifications until the final answer: each must be
 * the next of @expected (NULL: none may come), with the root's pid when it
 * is known, and is acked with success unless it is @refuse. */
CriuResp *call_with_notes(struct swrk *s, const CriuReq *req, const char *const *expected,
			  pid_t pid, const char *refuse);
/* One request on a fresh cryo swrk with @dir_fd inherited; the answer. */
CriuResp *one_request(const CriuReq *req, int dir_fd, const char *const *notes, pid_t pid,
		      const char *refuse, int *swrk_status);
/* A DUMP of @pid into @dir_fd, logged at level 4, with notifications. */
void dump_request(CriuReq *req, CriuOpts *opts, int dir_fd, pid_t pid);

#endif
