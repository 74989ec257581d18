/* What the parts of the unix socket kind share: the kind (unix_socket.c)
 * and its queue (unix_queue.c). Nothing here is for callers outside
 * src/net. */
#ifndef CRYO_NET_UNIX_INTERNAL_H
#define CRYO_NET_UNIX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "images/proto/unix_socket.pb-c.h"

struct file_dump;
struct file_obj;

struct restore_ctx;
/* The sockets being made together (a socketpair, or one socket alone):
 * an fd in flight that is one of them (a socket in its own queue or its
 * peer's) is sent from here, since the engine has none of them yet. */
struct unix_made {
	const struct file_obj *const *members;
	const int *fds;
	size_t n;
	/* Set by unix_queue.c: the group whose queue was being filled when
	 * this one was made (a cycle of groups in each other's queues). */
	const struct unix_made *outer;
};
/* Saves what is queued to be read on d->p (a stream's bytes, or every
 * record with its sender and its fds in flight, which become objects of
 * the dump) in @s and d->fe's contents; logged. */
int unix_queue_dump(const struct file_dump *d, UnixSocket *s, uint32_t rqueue);
/* Queues the saved data of @f on its new socket @fd again: sent from
 * @peer (the other end of its socketpair), or, with @peer -1, from a new
 * socket per record bound to the record's sender and sent to @fd's name;
 * each record with its fds in flight: one of @made, or opened through @r. *@why says what
 * failed. */
int unix_queue_fill(struct restore_ctx *r, const struct unix_made *made, const struct file_obj *f,
		    int fd, int peer, const char **why);
/* Reads the queue of @fd back and compares it with what @f saved, the
 * fds in flight too (kcmp with those @r sent). */
int unix_queue_check(struct restore_ctx *r, const struct unix_made *made, const struct file_obj *f,
		     int fd, const char **why);

/* Calls @fn with each fd in flight queued on @fd (cryo's copies, closed
 * after), without taking anything out; stops at a nonzero return. */
int unix_queue_each_right(int fd, bool stream, int (*fn)(int fd, void *arg), void *arg);
/* 1 when the socket of inode @ino is in flight in a queue of a unix socket
 * a process of the dump holds (or of a socket in flight there), 0 when
 * not, -errno (logged) when the queues cannot be read (unix_in_flight.c). */
int unix_in_flight_find(const struct file_dump *d, uint64_t ino);

/* The kernel's sk_state values that sock_diag shows for unix sockets. */
#define UNIX_ESTABLISHED 1
#define UNIX_CLOSE 7
#define UNIX_LISTEN 10

struct unix_diag_state;
/* The sock_diag state of the unix socket of inode @ino, from one listing
 * per dump (unix_diag_table.c); its icons stay valid for the dump.
 * -ENOENT when not listed. */
int unix_diag_lookup(const struct file_dump *d, uint64_t ino, struct unix_diag_state *out);
/* The listener whose accept queue holds the connection of @client: its
 * inode and state. -ENOENT when none. */
int unix_diag_listener_of(const struct file_dump *d, uint32_t client, uint32_t *listener,
			  struct unix_diag_state *out);
/* Whether a listening unix socket has the name @name (@len bytes). */
bool unix_diag_listening_on(const struct file_dump *d, const char *name, size_t len);
/* The options no unix socket of a kind answers, kept with the table for
 * the dump (options.c's struct sockopt_unanswered); NULL when out of memory. */
struct sockopt_unanswered *unix_unanswered_options(const struct file_dump *d);
/* The listener d->p (state @st): the connections waiting in its accept
 * queue in s->waiting, and its group with their clients; one that cannot
 * be made again is refused by name, or dropped with --skip-in-flight
 * (unix_accept_queue.c). */
int unix_accept_queue_dump_listener(const struct file_dump *d, const struct unix_diag_state *st,
				    UnixSocket *s);
/* The client d->p, whose connection waits in a listener's accept queue:
 * in the listener's group, or connected again by name to an outside one
 * (--ext-unix-sk), or, dropped, left by its peer. */
int unix_accept_queue_dump_client(const struct file_dump *d, const struct unix_diag_state *st,
				  UnixSocket *s);

struct ucred;
struct sockaddr;
/* Fds to send in flight with a message (SCM_RIGHTS). */
struct unix_rights {
	const int *fds;
	size_t nr;
};
/* Sends @len bytes of @data on @sk (to @dest, unless NULL): one message,
 * or for a @stream as many sends as it takes, @rights (unless NULL) with
 * the first; with @creds (unless NULL) as the sender's credentials, a pid
 * no process has being taken by a placeholder process for the time of the
 * send (unix_creds.c). */
int unix_send_as(int sk, const void *data, size_t len, const struct ucred *creds,
		 const struct unix_rights *rights, const struct sockaddr *dest,
		 unsigned int dest_len, bool stream);

struct restore_ctx;
/* The kind's open and create_group (unix_restore.c). */
int unix_open(struct restore_ctx *r, const struct file_obj *f);
int unix_create_group(struct restore_ctx *r, const struct file_obj *const *members, size_t n,
		      int *fds);

#endif
