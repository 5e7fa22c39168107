/*
 * agent_sandbox.h - the network worker's system-call filter (seccomp),
 * installed after privileges are dropped and before any network byte is
 * parsed.  A call outside the list kills the worker; the monitor restarts it
 * and logs the signal.
 */
#ifndef AGENT_SANDBOX_H
#define AGENT_SANDBOX_H

/* MM_OK, or an error if the filter could not be installed (fatal).  admin:
 * the admin worker's list (accepts connections, epoll; never connects or
 * binds) instead of the network worker's. */
int agent_sandbox_enter(int admin);

#endif
