/* Leveled logging for the cryo tool: one set of macros, a level chosen by -v,
 * output to the file given by -o (stderr by default). Not for the freestanding
 * blobs, which report through their channel instead. */
#ifndef CRYO_LOG_H
#define CRYO_LOG_H

#include <errno.h>
#include <stddef.h>

enum log_level {
	LOG_ERROR = 1,
	LOG_WARN = 2,
	LOG_INFO = 3,
	LOG_DEBUG = 4,
};

/* Opens @path for appending (NULL keeps stderr) and sets the level. */
int log_init(const char *path, int level);
void log_set_level(int level);
int log_get_level(void);
void log_close(void);

/* From now on, errors are kept in @buf (the last one wins) and nothing is
 * written anywhere: for a process whose stderr is about to become another's. */
void log_capture_errors(char *buf, size_t size);

/* @hook(@arg) runs before each message written to stderr (the progress
 * line clears itself there); NULL for none. */
void log_set_stderr_hook(void (*hook)(void *arg), void *arg);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(fmt, ...) log_msg(LOG_ERROR, fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...) log_msg(LOG_WARN, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...) log_msg(LOG_INFO, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) log_msg(LOG_DEBUG, fmt, ##__VA_ARGS__)

/* Logs an error and returns -errno from a failed libc call, in one line. */
#define pr_errno_ret(fmt, ...)                                   \
	({                                                       \
		int __e = errno;                                 \
		pr_err(fmt ": %s", ##__VA_ARGS__, strerror(__e)); \
		-__e;                                            \
	})

#endif
