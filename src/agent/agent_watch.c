/*
 * agent_watch.c - access to the sealed log and the device's secrets,
 * seen through fanotify (T12/L2, KP13).  The monitor is the only process
 * that should ever open these files; the workers never do (they are
 * sandboxed and have no path to them).  So an event whose pid is not the
 * monitor's is someone else: a shell, a backup tool, an attacker.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/agent_watch.h"
#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "common/mm_time.h"

#define W_MASK (FAN_OPEN | FAN_ACCESS | FAN_MODIFY | FAN_CLOSE_WRITE)
#define W_PER_S 20
#define W_MERGE 16		/* distinct (pid, file) per read */
#define W_PATH 256

struct w_hit {
	int32_t pid;
	uint64_t mask;
	unsigned count;
	char file[W_PATH];
};

struct agent_watch {
	int fd;
	pid_t self;
	char dir[W_PATH];
	size_t dirlen;
	int64_t window_ms;
	unsigned in_window;
	uint64_t suppressed;
};

int
agent_watch_open(const char *dir, struct agent_watch **out)
{
	struct agent_watch *w;
	char logdir[W_PATH + 8];
	int fd, r;

	if (strlen(dir) >= W_PATH)
		return MM_ERR_TOO_LARGE;
	fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK,
	    O_RDONLY | O_CLOEXEC | O_LARGEFILE);
	if (fd < 0)
		return errno == EPERM ? MM_ERR_DENIED : errno == ENOSYS ?
		    MM_ERR_UNSUPPORTED : MM_ERR_IO;
	if ((r = mm_path_join(logdir, sizeof(logdir), dir, "log")) != 0)
		goto fail;
	if (fanotify_mark(fd, FAN_MARK_ADD, W_MASK | FAN_EVENT_ON_CHILD,
	    AT_FDCWD, dir) != 0 ||
	    fanotify_mark(fd, FAN_MARK_ADD, W_MASK | FAN_EVENT_ON_CHILD,
	    AT_FDCWD, logdir) != 0) {
		r = MM_ERR_IO;
		goto fail;
	}
	if ((w = mm_calloc(1, sizeof(*w))) == NULL) {
		r = MM_ERR_ALLOC;
		goto fail;
	}
	w->fd = fd;
	w->self = getpid();
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	w->dirlen = strlen(w->dir);
	*out = w;
	return MM_OK;
 fail:
	close(fd);
	return r;
}

int
agent_watch_drop_cap(void)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct d[2];
	unsigned idx = CAP_SYS_ADMIN / 32;
	uint32_t bit = 1U << (CAP_SYS_ADMIN % 32);

	memset(&h, 0, sizeof(h));
	memset(d, 0, sizeof(d));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &h, d) != 0)
		return MM_ERR_IO;
	d[idx].effective &= ~bit;
	d[idx].permitted &= ~bit;
	d[idx].inheritable &= ~bit;
	return syscall(SYS_capset, &h, d) == 0 ? MM_OK : MM_ERR_IO;
}

int
agent_watch_fd(const struct agent_watch *w)
{
	return w == NULL ? -1 : w->fd;
}

/* The file an event is about, relative to the state directory. */
static void
w_name(const struct agent_watch *w, int fd, char *out, size_t outsz)
{
	char link[64], path[W_PATH * 2];
	const char *rel;
	size_t len;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0) {
		snprintf(out, outsz, "?");
		return;
	}
	path[n] = '\0';
	rel = path;
	if ((size_t)n > w->dirlen && strncmp(path, w->dir, w->dirlen) == 0 &&
	    path[w->dirlen] == '/')
		rel = path + w->dirlen + 1;
	len = strlen(rel);
	if (len >= outsz)
		len = outsz - 1;	/* a long name, cut */
	memcpy(out, rel, len);
	out[len] = '\0';
}

/* Makes s safe inside a JSON string: no quote, backslash or control. */
static void
w_clean(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 ||
		    (unsigned char)*s == 0x7f)
			*s = '?';
}

/* Appends word to a space-separated list if on. */
static void
w_word(char *list, size_t sz, uint64_t on, const char *word)
{
	size_t n = strlen(list);

	if (on)
		snprintf(list + n, sz - n, "%s%s", n > 0 ? " " : "", word);
}

static void
w_report(struct agent_watch *w, const struct w_hit *h, agent_watch_fn fn,
    void *arg)
{
	char exe[W_PATH], link[64], text[768], file[W_PATH], access[40];
	int64_t now = mm_now_ms();
	ssize_t n;

	if (now - w->window_ms >= 1000) {
		w->window_ms = now;
		w->in_window = 0;
	}
	if (++w->in_window > W_PER_S) {
		w->suppressed += h->count;
		return;
	}
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)h->pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0)
		snprintf(exe, sizeof(exe), "?");
	else
		exe[n] = '\0';
	w_clean(exe);
	snprintf(file, sizeof(file), "%s", h->file);
	w_clean(file);
	access[0] = '\0';
	w_word(access, sizeof(access), h->mask & FAN_OPEN, "open");
	w_word(access, sizeof(access), h->mask & FAN_ACCESS, "read");
	w_word(access, sizeof(access), h->mask & FAN_MODIFY, "write");
	w_word(access, sizeof(access), h->mask & FAN_CLOSE_WRITE, "close-write");
	snprintf(text, sizeof(text), "{\"pid\":%d,\"exe\":\"%s\",\"file\":\"%s\","
	    "\"access\":\"%s\",\"events\":%u,\"unreported_before\":%"
	    PRIu64 "}", (int)h->pid, exe, file, access, h->count, w->suppressed);
	w->suppressed = 0;
	/* writing the log or the keys is worse than reading them */
	fn(arg, (h->mask & (FAN_MODIFY | FAN_CLOSE_WRITE)) ? 2 : 4, text);
}

void
agent_watch_read(struct agent_watch *w, agent_watch_fn fn, void *arg)
{
	struct fanotify_event_metadata buf[64], *m;
	struct w_hit hits[W_MERGE];
	char file[W_PATH];
	size_t nh = 0, i;
	ssize_t len;

	if (w == NULL)
		return;
	for (;;) {
		len = read(w->fd, buf, sizeof(buf));
		if (len <= 0)
			break;
		for (m = buf; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
			if (m->vers != FANOTIFY_METADATA_VERSION)
				break;
			if (m->fd < 0)
				continue;	/* queue overflow: nothing to name */
			if (m->pid == w->self) {
				close(m->fd);
				continue;
			}
			w_name(w, m->fd, file, sizeof(file));
			close(m->fd);
			for (i = 0; i < nh; i++)
				if (hits[i].pid == m->pid &&
				    strcmp(hits[i].file, file) == 0)
					break;
			if (i == nh) {
				if (nh == W_MERGE) {
					w_report(w, &hits[0], fn, arg);
					memmove(hits, hits + 1,
					    (W_MERGE - 1) * sizeof(hits[0]));
					i = --nh;
				}
				memset(&hits[i], 0, sizeof(hits[i]));
				hits[i].pid = m->pid;
				snprintf(hits[i].file, sizeof(hits[i].file), "%s",
				    file);
				nh++;
			}
			hits[i].mask |= m->mask;
			hits[i].count++;
		}
	}
	for (i = 0; i < nh; i++)
		w_report(w, &hits[i], fn, arg);
}

void
agent_watch_close(struct agent_watch *w)
{
	if (w == NULL)
		return;
	close(w->fd);
	mm_free(w);
}
