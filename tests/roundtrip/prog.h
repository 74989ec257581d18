/* The side of the round-trip protocol that every test program shares: parse
 * --pidfile/--outfile, say "ready" by writing the pid file, wait for
 * SIGTERM, then write PASS or "FAIL: why" to the out file. */
#ifndef CRYO_TESTS_PROG_H
#define CRYO_TESTS_PROG_H

#include <stdbool.h>
#include <sys/types.h>

/* Parses the options and blocks SIGTERM (it is waited for, not handled). */
void prog_init(int argc, char **argv);
/* A directory for the program's own files, removed by the runner (the
 * original and its restored copies all use the same files). */
const char *prog_dir(void);
/* Writes the pid file: the state is set up and must now stay as it is. */
void prog_ready(void);
/* Blocks until SIGTERM arrives (in any process of the program: the mask
 * prog_init() set is inherited). */
void prog_wait_sigterm(void);
/* The same, but running meanwhile: a context switch every 10 ms, which a
 * refusal test watches for to know the program was left running. */
void prog_run_until_sigterm(void);
/* A child of a tree-shaped program says it is set up: one byte into
 * @ready_pipe, whose both ends it then closes, so the parent reading it
 * sees EOF once every child has said so. */
void prog_child_ready(int ready_pipe[2]);
/* The TracerPid of process @pid (0: untraced), -1 if unreadable. */
long prog_tracer_of(pid_t pid);
/* Records a failed check (the first one is reported); returns false. */
bool prog_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reads @len bytes at @off of /proc/@pid/@file (pagemap, mem) into @buf;
 * false, recorded with prog_fail(), if it cannot. */
bool prog_read_proc(pid_t pid, const char *file, void *buf, size_t len, off_t off);
/* Writes PASS, or the first failure, to the out file and exits. */
void __attribute__((noreturn)) prog_finish(void);

#define PROG_CHECK(cond, fmt, ...) \
	((cond) ? true : prog_fail("%s: " fmt, #cond, ##__VA_ARGS__))

#endif
