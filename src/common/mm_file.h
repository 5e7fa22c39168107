/*
 * mm_file.h - atomic, bounded file I/O.
 *
 * Writes go to a temporary file in the same directory, are fsync'd, renamed
 * over the target and the directory is fsync'd, so a crash leaves either the
 * old or the new contents, never a mix.
 */
#ifndef MM_FILE_H
#define MM_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Atomically replaces path with data[0..len), created with mode. */
int mm_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode);
/*
 * Reads the whole file into a new NUL-terminated buffer (*out, *outlen not
 * counting the NUL).  Fails with MM_ERR_TOO_LARGE above max bytes and
 * MM_ERR_NOT_FOUND if missing.  Caller frees with mm_freezero(*out, *outlen+1).
 */
int mm_file_read(const char *path, size_t max, char **out, size_t *outlen);
/* Writes all len bytes to fd, retrying short writes and EINTR.  MM_ERR_IO. */
int mm_file_write_all(int fd, const void *data, size_t len);
/* fsyncs the directory that holds path (after an unlink or rename). */
int mm_file_sync_parent(const char *path);
/* Creates dir (one level) with mode if missing; checks it is a directory. */
int mm_file_mkdir(const char *dir, mode_t mode);
/* snprintf into out[outsz]; MM_ERR_TOO_LARGE on truncation. */
int mm_path_join(char *out, size_t outsz, const char *dir, const char *name);

#endif
