/* Scope-bound cleanup helpers for ordinary (libc) code: descriptors, heap
 * buffers and stdio streams released on every return path. */
#ifndef CRYO_CLEANUP_H
#define CRYO_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

static inline void close_fdp(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define _cleanup_close_ __attribute__((cleanup(close_fdp)))
#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_fclose_ __attribute__((cleanup(fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(closedirp)))

/* Hands ownership out of a _cleanup_ variable. */
#define steal_fd(fd) ({ int __fd = (fd); (fd) = -1; __fd; })
#define steal_ptr(p) ({ __typeof__(p) __p = (p); (p) = NULL; __p; })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
