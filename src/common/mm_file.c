/* mm_file.c - atomic writes and bounded reads. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_file.h"

int
mm_path_join(char *out, size_t outsz, const char *dir, const char *name)
{
	int n = snprintf(out, outsz, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= outsz)
		return MM_ERR_TOO_LARGE;
	return MM_OK;
}

int
mm_file_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t w;

	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return MM_ERR_IO;
		p += w;
		len -= (size_t)w;
	}
	return MM_OK;
}

int
mm_file_sync_parent(const char *path)
{
	char copy[4096];
	int fd, r = MM_OK;

	if (strlen(path) >= sizeof(copy))
		return MM_ERR_TOO_LARGE;
	memcpy(copy, path, strlen(path) + 1);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return MM_ERR_IO;
	if (fsync(fd) != 0)
		r = MM_ERR_IO;
	close(fd);
	return r;
}

int
mm_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4096];
	int fd, r, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return MM_ERR_TOO_LARGE;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return MM_ERR_IO;
	if (fchmod(fd, mode) != 0 ||
	    (r = mm_file_write_all(fd, data, len)) != MM_OK ||
	    fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		return MM_ERR_IO;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return MM_ERR_IO;
	}
	return mm_file_sync_parent(path);
}

int
mm_file_read(const char *path, size_t max, char **out, size_t *outlen)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? MM_ERR_NOT_FOUND : MM_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return MM_ERR_IO;
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return MM_ERR_TOO_LARGE;
	}
	if ((buf = mm_malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return MM_ERR_ALLOC;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		mm_freezero(buf, (size_t)st.st_size + 1);
		return MM_ERR_IO;
	}
	buf[got] = '\0';
	*out = buf;
	*outlen = got;
	return MM_OK;
}

int
mm_file_mkdir(const char *dir, mode_t mode)
{
	struct stat st;

	if (mkdir(dir, mode) != 0 && errno != EEXIST)
		return MM_ERR_IO;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return MM_ERR_IO;
	return MM_OK;
}
