/* Where the injection library's messages go: a function the caller sets,
 * or stderr for errors and warnings when none is set. */
#include <stdarg.h>
#include <stdio.h>

#include "inject/internal.h"

static inj_log_fn log_fn;

void inj_set_log(inj_log_fn fn)
{
	log_fn = fn;
}

void inj_log(enum inj_log_level level, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (log_fn)
		log_fn(level, message);
	else if (level <= INJ_LOG_WARN)
		fprintf(stderr, "inject: %s\n", message);
}
