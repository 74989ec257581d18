/* libarchive, loaded on first use (see dynlib.h): the files of a tree's own
 * tmpfs mounts (ns/mnt_tmpfs.c). */
#ifndef CRYO_ARCHIVE_LIB_H
#define CRYO_ARCHIVE_LIB_H

#include <archive.h>
#include <archive_entry.h>

#include "common/dynlib.h"

#define ARCHIVE_LIB_FUNCTIONS(X)                     \
	X(archive_error_string)                      \
	X(archive_format)                            \
	X(archive_entry_new)                         \
	X(archive_entry_free)                        \
	X(archive_entry_filetype)                    \
	X(archive_entry_size)                        \
	X(archive_entry_hardlink)                    \
	X(archive_entry_linkify)                     \
	X(archive_entry_linkresolver_new)            \
	X(archive_entry_linkresolver_set_strategy)   \
	X(archive_entry_linkresolver_free)           \
	X(archive_read_new)                          \
	X(archive_read_free)                         \
	X(archive_read_support_format_tar)           \
	X(archive_read_open_fd)                      \
	X(archive_read_next_header)                  \
	X(archive_read_next_header2)                 \
	X(archive_read_data)                         \
	X(archive_read_data_block)                   \
	X(archive_read_disk_new)                     \
	X(archive_read_disk_open)                    \
	X(archive_read_disk_descend)                 \
	X(archive_read_disk_set_symlink_physical)    \
	X(archive_read_disk_set_behavior)            \
	X(archive_write_new)                         \
	X(archive_write_free)                        \
	X(archive_write_set_format_pax_restricted)   \
	X(archive_write_open)                        \
	X(archive_write_header)                      \
	X(archive_write_data)                        \
	X(archive_write_data_block)                  \
	X(archive_write_finish_entry)                \
	X(archive_write_close)                       \
	X(archive_write_disk_new)                    \
	X(archive_write_disk_set_options)

struct archive_lib {
	ARCHIVE_LIB_FUNCTIONS(DYNLIB_MEMBER)
};

/* The library's functions, NULL (logged) when it cannot be loaded. */
const struct archive_lib *archive_lib(void);

#endif
