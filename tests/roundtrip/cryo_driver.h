/* The one way the test runners (test_roundtrip, test_shell_job, test_real,
 * test_negative, test_freezer) run the cryo binary and start the test
 * programs of the table (programs.c). Each runner is a child subreaper once
 * this is linked in. Not the cycles' steps, nor the table itself. */
#ifndef CRYO_TESTS_CRYO_DRIVER_H
#define CRYO_TESTS_CRYO_DRIVER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define WAIT_MS 20000
#define CRYO_MS 60000

/* The directory of the runner's binary (the test programs are there) and
 * the cryo binary it drives. */
extern char bin_dir[PATH_MAX], cryo_path[PATH_MAX];
/* Why the last helper that returned false did so. */
extern char why[4096];

bool fail_why(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Formats a path into a PATH_MAX buffer; one that does not fit ends the
 * runner (the tests' paths are short). */
void pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void kill_and_reap(pid_t pid);
bool make_temp_dir(char *path);
void remove_temp_dir(const char *path);
bool exists(const char *dir, const char *name);
/* A failed dump leaves no inventory.img in @dir. */
bool no_inventory(const char *dir);
/* One field of /proc/PID/status, as a number in @base; false if absent. */
bool proc_status_number(pid_t pid, const char *key, int base, unsigned long long *value);
/* Reads a whole (small) file into @buf; false if it cannot be read. */
bool read_text(const char *path, char *buf, size_t size);

/* ---- running cryo ---- */

/* Runs in cryo's child between fork and exec, after its stdio is set (it
 * may set it again: a terminal); no allocation needed. The environment is
 * already made by then: variables go in cryo_call.env. */
typedef void (*child_setup_fn)(void *arg);

struct test_program;

/* One run of cryo. Only args is required. */
struct cryo_call {
	const char *const *args;	/* after the binary's name, NULL-terminated */
	/* A program of the table being dumped or restored: its settings for
	 * that stage (args[0]) are added to the command line and environment. */
	const struct test_program *program;
	const char *const *env;		/* NAME=VALUE added to cryo's environment */
	child_setup_fn setup;
	void *setup_arg;
	const char *log_path;		/* what cryo says is also appended here */
	/* Run through script(1) on a pty of its own: what the terminal
	 * showed is what cryo said. */
	bool on_terminal;
};

struct cryo_run {
	pid_t pid;		/* the cryo process */
	int status;		/* exit code; 128 + signal if killed; -1 if it hung */
	char out[16384];	/* what it printed, stdout and stderr together */
};

/* In a child: stdin from /dev/null and stdout and stderr to @out_fd (or,
 * with -1, the stdio it has, a terminal), @c's setup, then exec cryo;
 * returns never (exits 127 if exec fails). */
void __attribute__((noreturn)) cryo_exec(int out_fd, const struct cryo_call *c);
/* Starts cryo with its output on @out_fd; the caller waits for it. */
pid_t cryo_spawn(int out_fd, const struct cryo_call *c);
/* Runs cryo to its end, or CRYO_MS (then it is killed and status is -1),
 * collecting what it says in @r->out. */
void cryo_call(struct cryo_run *r, const struct cryo_call *c);

#define CRYO_ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define run_cryo(r, ...) cryo_call(r, &(struct cryo_call){ .args = CRYO_ARGS(__VA_ARGS__) })
#define run_cryo_with(r, fn, arg, argv) \
	cryo_call(r, &(struct cryo_call){ .args = (argv), .setup = (fn), .setup_arg = (arg) })
#define spawn_cryo(fd, fn, arg, argv) \
	cryo_spawn(fd, &(struct cryo_call){ .args = (argv), .setup = (fn), .setup_arg = (arg) })
/* cryo dump or restore of program @p, with its settings from the table. */
#define prog_cryo(r, p, ...) \
	cryo_call(r, &(struct cryo_call){ .args = CRYO_ARGS(__VA_ARGS__), .program = (p)->program })

/* A clean refusal: an exit status of 1 to 127 (no crash, no hang) and a
 * message holding every one of the NULL-terminated @... parts. */
bool refused(const struct cryo_run *r, ...);
/* Whether @text names "pid @pid" (and not a longer number starting so). */
bool names_pid(const char *text, pid_t pid);

/* ---- the dumped programs ---- */

struct prog {
	const struct test_program *program;	/* its entry in the table */
	pid_t pid;
	char path[PATH_MAX];
	char dir[PATH_MAX];	/* its pid and out files, and the images */
	char maps[32768];	/* its /proc/PID/maps once it was ready */
	pid_t peer;		/* its peer outside the dump (programs.h), 0 for none */
};

/* Starts test program @name of the table (with its arguments, in its
 * namespaces) in a new temporary directory and waits until it is ready;
 * @setup runs in its child before the exec. A name the table lacks fails. */
bool start_prog(struct prog *p, const char *name, child_setup_fn setup, void *arg);
/* Ends the program's peer with SIGTERM; its verdict (the file peer.out in
 * the program's directory) must be PASS. True without a peer. */
bool peer_passes(struct prog *p, char *why, size_t size);
/* Like start_prog(), in a session of its own (setsid) whose parent has
 * exited: adopted by the nearest subreaper, or init. */
bool start_orphan(struct prog *p, const char *name);
/* The program must be as it was: alive, untraced, same mappings, no signal
 * blocked but SIGTERM, and running. */
bool prog_unharmed(struct prog *p);
/* Sends @p SIGUSR1 and waits for its file phase-@n: programs that move on
 * through phases (prog_predump, prog_track_mem). */
bool prog_next_phase(struct prog *p, unsigned int n);
/* The first line of @now that differs from @before, into @out. */
void first_difference(const char *now, const char *before, char *out, size_t size);
/* Ends the program with SIGTERM; its verdict must be PASS. */
bool prog_passes(struct prog *p);
/* Dumps @p into @img (cryo dump -t PID -D IMG, then @extra's arguments
 * unless NULL); the program, which the dump ends, is not reaped. False,
 * saying why, when the dump fails. */
bool prog_dump(struct prog *p, const char *img, const char *const *extra);
/* Dumps @p into @p->dir/img: the dump must be refused with a message
 * holding @key (and @key2 unless NULL), leave no inventory.img, and leave
 * the program unharmed. */
bool dump_refused_unharmed(struct prog *p, const char *key, const char *key2);
/* The same for a program that sleeps until SIGTERM (no ticks to count):
 * refused, no inventory; prog_passes() then shows it unharmed. */
bool dump_refused_no_images(struct prog *p, const char *key);
/* prog_counter, given by @open_fd a socket at @fd: a dump must fail naming
 * "pid P fd FD (socket:[" and @what, and the program run on unharmed. */
bool socket_dump_refused(child_setup_fn open_fd, void *arg, int fd, const char *what);
/* Ends and reaps every child of ours but @keep. Returns the first found,
 * or 0, with its /proc/PID/stat line in @seen. */
pid_t end_children(pid_t keep, char *seen, size_t size);
/* Ends the program and all our children, and removes its directory. */
void end_prog(struct prog *p);

#endif
