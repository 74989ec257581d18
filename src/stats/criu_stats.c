/* criu's statistics files, stats-dump and stats-restore, in criu's format
 * (a service file: its two magic numbers, the size of one stats_entry, the
 * entry), written for criu's RPC clients: podman shows them with
 * --print-stats and puts stats-dump in a checkpoint export. What the
 * numbers count is stats.c's; this file only translates them. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "rpc/proto/criu_stats.pb-c.h"
#include "stats/stats.h"

/* criu's magic.h: IMG_SERVICE_MAGIC, then STATS_MAGIC. */
#define CRIU_SERVICE_MAGIC 0x55105940u
#define CRIU_STATS_MAGIC 0x57093306u

static uint32_t usec(uint64_t ns)
{
	return ns / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(ns / 1000);
}

int stats_write_criu(const struct stats *st, int dir_fd)
{
	DumpStatsEntry dump = DUMP_STATS_ENTRY__INIT;
	RestoreStatsEntry restore = RESTORE_STATS_ENTRY__INIT;
	StatsEntry entry = STATS_ENTRY__INIT;
	bool is_dump = st->journey == STATS_DUMP;
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_close_ int fd = -1;
	const char *name = is_dump ? "stats-dump" : "stats-restore";
	size_t len;

	if (is_dump) {
		dump.freezing_time = usec(st->stage_ns[STATS_DUMP_FREEZING]);
		dump.frozen_time = usec(st->frozen_ns);
		dump.memdump_time = usec(st->stage_ns[STATS_DUMP_MEMORY]);
		dump.memwrite_time = usec(st->stage_ns[STATS_DUMP_WRITING]);
		dump.pages_scanned = st->pages_scanned;
		dump.pages_written = st->pages_written;
		dump.pages_skipped_parent = st->pages_in_parent_image;
		entry.dump = &dump;
	} else {
		restore.forking_time = usec(st->stage_ns[STATS_RESTORE_CREATING]);
		restore.restore_time = usec(st->total_ns);
		restore.has_pages_restored = true;
		restore.pages_restored = st->pages_restored;
		entry.restore = &restore;
	}
	len = stats_entry__get_packed_size(&entry);
	buf = malloc(12 + len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &(uint32_t){ CRIU_SERVICE_MAGIC }, 4);
	memcpy(buf + 4, &(uint32_t){ CRIU_STATS_MAGIC }, 4);
	memcpy(buf + 8, &(uint32_t){ (uint32_t)len }, 4);
	stats_entry__pack(&entry, buf + 12);
	fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, 12 + len) != (ssize_t)(12 + len))
		return pr_errno_ret("%s: cannot write criu's statistics file %s in the work "
				    "directory", is_dump ? "dump" : "restore", name);
	return 0;
}
