/* Reading a whole text file into memory. procfs files are generated as
 * they are read, at most a page per read(), so the file is read until EOF
 * rather than by its size (which procfs reports as 0). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/textfile.h"

/* Most procfs files (stat, status, fdinfo) fit in one page. */
#define TEXT_FIRST_SIZE 4096

int read_text_at(int dirfd, const char *path, char **text)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = TEXT_FIRST_SIZE;

	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (cap - len < 2) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger)
				return -ENOMEM;
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*text = steal_ptr(buf);
	return 0;
}
