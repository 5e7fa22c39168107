/*
 * mm_log.h - logging and the fatal path.
 *
 * Two failure policies (docs/architecture.md): bad input from a peer is
 * refused and logged with mm_log(MM_LOG_WARN, ...) and the process goes on;
 * a broken internal invariant or a malformed message between our own
 * processes calls mm_fatal(), which logs file/function/line and aborts.
 */
#ifndef MM_LOG_H
#define MM_LOG_H

enum mm_log_level {
	MM_LOG_ERR = 3,
	MM_LOG_WARN = 4,
	MM_LOG_NOTICE = 5,
	MM_LOG_INFO = 6,
	MM_LOG_DEBUG = 7
};

/* ident is kept by pointer.  use_syslog also sends lines to syslog. */
void mm_log_init(const char *ident, enum mm_log_level level, int use_syslog);
void mm_log_set_level(enum mm_log_level level);
void mm_log(enum mm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
_Noreturn void mm_fatal_at(const char *file, const char *func, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define mm_fatal(...) mm_fatal_at(__FILE__, __func__, __LINE__, __VA_ARGS__)

#endif
