/* mm_log.c - line-oriented logging to stderr and optionally syslog. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/mm_log.h"

static const char *mm_log_ident = "mamori";
static enum mm_log_level mm_log_level_cur = MM_LOG_INFO;
static int mm_log_syslog;

void
mm_log_init(const char *ident, enum mm_log_level level, int use_syslog)
{
	mm_log_ident = ident;
	mm_log_level_cur = level;
	mm_log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
mm_log_set_level(enum mm_log_level level)
{
	mm_log_level_cur = level;
}

static const char *
mm_log_tag(enum mm_log_level level)
{
	switch (level) {
	case MM_LOG_ERR: return "error";
	case MM_LOG_WARN: return "warning";
	case MM_LOG_NOTICE: return "notice";
	case MM_LOG_INFO: return "info";
	default: return "debug";
	}
}

static void __attribute__((format(printf, 2, 0)))
mm_log_v(enum mm_log_level level, const char *fmt, va_list ap)
{
	char line[1024], ts[32];
	struct timespec now;
	struct tm tm;

	(void)vsnprintf(line, sizeof(line), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s[%ld] %s: %s\n", ts, now.tv_nsec / 1000000,
	    mm_log_ident, (long)getpid(), mm_log_tag(level), line);
	if (mm_log_syslog)
		syslog((int)level, "%s", line);
}

void
mm_log(enum mm_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > mm_log_level_cur)
		return;
	va_start(ap, fmt);
	mm_log_v(level, fmt, ap);
	va_end(ap);
}

void
mm_fatal_at(const char *file, const char *func, int line, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mm_log(MM_LOG_ERR, "FATAL %s:%s:%d: %s", file, func, line, msg);
	abort();
}
