/* A namespace's sysctls as text (ns/sysctl.h): read at dump from inside
 * the namespace, written at restore into the one cryo made. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/textfile.h"
#include "ns/sysctl.h"

int ns_sysctl_read(const char *who, const char *name, char **value)
{
	char path[160], *nl;
	int ret;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	ret = read_text_file(path, value);
	if (ret == -ENOENT)
		return ret;
	if (ret) {
		pr_err("dump: %s: cannot read %s: %s", who, path, strerror(-ret));
		return ret;
	}
	nl = strchr(*value, '\n');
	if (nl)
		*nl = '\0';
	return 0;
}

int ns_sysctl_write(const char *who, const char *name, const char *value)
{
	size_t len = strlen(value);
	char path[160];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, len ? value : "\n", len ? len : 1) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		pr_err("restore: %s: cannot set %s to '%s': %s", who, path, value, strerror(-ret));
	return ret;
}
