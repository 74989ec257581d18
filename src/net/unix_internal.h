/* What the parts of the unix socket kind share: the kind (unix_socket.c)
 * and its queue (unix_queue.c). Nothing here is for callers outside
 * src/net. */
#ifndef CRYO_NET_UNIX_INTERNAL_H
#define CRYO_NET_UNIX_INTERNAL_H

#include <stddef.h>

#include "images/proto/unix_socket.pb-c.h"

struct file_dump;
struct file_obj;

/* Saves what is queued to be read on d->p (a stream's bytes, or every
 * record with its sender) in @s and d->fe's contents; logged. Fds in
 * flight are refused by name. */
int unix_queue_dump(const struct file_dump *d, UnixSocket *s);
/* Queues the saved data of @f on its new socket @fd again: sent from
 * @peer (the other end of its socketpair), or, with @peer -1, from a new
 * socket per record bound to the record's sender and sent to @fd's name.
 * *@why says what failed. */
int unix_queue_fill(const struct file_obj *f, int fd, int peer, const char **why);
/* Reads the queue of @fd back and compares it with what @f saved. */
int unix_queue_check(const struct file_obj *f, int fd, const char **why);

struct restore_ctx;
/* The kind's open and create_group (unix_restore.c). */
int unix_open(struct restore_ctx *r, const struct file_obj *f);
int unix_create_group(struct restore_ctx *r, const struct file_obj *const *members, size_t n,
		      int *fds);

#endif
