/* agent_sandbox.c - seccomp allow-list for the network worker. */
#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>

#include <seccomp.h>

#include "agent/agent_sandbox.h"
#include "common/mm_err.h"
#include "common/mm_log.h"

#if defined(__SANITIZE_ADDRESS__)
#define AGENT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AGENT_SANITIZED 1
#endif
#endif

/* What the worker does after start: MQTT over TLS (sockets, poll, time,
 * randomness, memory), reconnects with name look-ups (read-only opens of
 * /etc files), logging, and the IPC socket to the monitor. */
static const int agent_sandbox_allowed[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	SCMP_SYS(recvmmsg), SCMP_SYS(sendmmsg), SCMP_SYS(close), SCMP_SYS(shutdown),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(connect), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(fcntl),
	SCMP_SYS(bind), SCMP_SYS(ioctl), SCMP_SYS(socketpair), SCMP_SYS(pipe2),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(lseek),
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(mprotect),
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(getrandom),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(futex), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(uname),
	SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
};

/* The admin worker serves sockets the monitor opened: it accepts, polls
 * with epoll and checks peer credentials; it needs no connect or bind.  Its
 * list is the common part of the one above plus these. */
static const int agent_sandbox_admin_extra[] = {
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(epoll_create1),
	SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
};

/* Calls of the network worker's list the admin worker never makes. */
static int
agent_sandbox_net_only(int sys)
{
	return sys == SCMP_SYS(bind) || sys == SCMP_SYS(socketpair) ||
	    sys == SCMP_SYS(pipe2);
}

/* One rule with one argument comparison (spelled out in full: the
 * library's initialiser macros leave fields implicit, which -Werror
 * refuses under clang). */
static int
agent_sandbox_allow_arg(scmp_filter_ctx f, int sys, unsigned arg,
    enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp cmp = { .arg = arg, .op = op, .datum_a = a, .datum_b = b };

	return seccomp_rule_add_array(f, SCMP_ACT_ALLOW, sys, 1, &cmp);
}

int
agent_sandbox_enter(int admin)
{
	scmp_filter_ctx f;
	size_t i;
	int rc;

#ifdef AGENT_SANITIZED
	/* The sanitizer runtime needs calls a production filter refuses. */
	mm_log(MM_LOG_NOTICE, "sanitizer build: %s runs without seccomp",
	    admin ? "admin worker" : "network worker");
	return MM_OK;
#endif
	if ((f = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return MM_ERR_ALLOC;
	for (i = 0; i < sizeof(agent_sandbox_allowed) / sizeof(agent_sandbox_allowed[0]); i++) {
		if (admin && agent_sandbox_net_only(agent_sandbox_allowed[i]))
			continue;
		if ((rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, agent_sandbox_allowed[i], 0)) != 0)
			goto fail;
	}
	for (i = 0; admin && i < sizeof(agent_sandbox_admin_extra) /
	    sizeof(agent_sandbox_admin_extra[0]); i++)
		if ((rc = seccomp_rule_add(f, SCMP_ACT_ALLOW,
		    agent_sandbox_admin_extra[i], 0)) != 0)
			goto fail;
	/* sockets: only the families a reconnect and a name look-up need;
	 * the admin worker only AF_UNIX (syslog): it may not open network
	 * sockets of its own, only serve those the monitor gave it */
	if ((!admin && (rc = agent_sandbox_allow_arg(f, SCMP_SYS(socket), 0,
	    SCMP_CMP_EQ, AF_INET, 0)) != 0) ||
	    (!admin && (rc = agent_sandbox_allow_arg(f, SCMP_SYS(socket), 0,
	    SCMP_CMP_EQ, AF_INET6, 0)) != 0) ||
	    (rc = agent_sandbox_allow_arg(f, SCMP_SYS(socket), 0, SCMP_CMP_EQ,
	    AF_UNIX, 0)) != 0)
		goto fail;
	/* files: read-only opens (/etc/hosts, /etc/resolv.conf, ...) */
	if ((rc = agent_sandbox_allow_arg(f, SCMP_SYS(openat), 2,
	    SCMP_CMP_MASKED_EQ, O_ACCMODE, O_RDONLY)) != 0)
		goto fail;
	if ((rc = seccomp_load(f)) != 0)
		goto fail;
	seccomp_release(f);
	mm_log(MM_LOG_INFO, "%s sandboxed (seccomp allow-list)",
	    admin ? "admin worker" : "network worker");
	return MM_OK;
 fail:
	mm_log(MM_LOG_ERR, "seccomp: %s", rc < 0 ? "rule rejected" : "failed");
	seccomp_release(f);
	return MM_ERR_INTERNAL;
}
