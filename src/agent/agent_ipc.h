/*
 * agent_ipc.h - the narrow typed channel from the unprivileged network
 * worker to the privileged monitor (docs/privsep.md).
 *
 * One request, one reply, over a SOCK_SEQPACKET socketpair; each message is
 * a type byte and fields read with the bounded buffer.  A malformed message
 * between our own processes is a broken invariant: the monitor stops.
 */
#ifndef AGENT_IPC_H
#define AGENT_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "common/mm_buf.h"

#define AGENT_IPC_MAX 16384

enum agent_ipc_type {
	/* The monitor picks the key slot and the CN itself (from its mode and
	 * the device id it knows); the worker names neither. */
	AGENT_IPC_CSR = 1,	/* (no fields) -> status, pem str16 */
	AGENT_IPC_INSTALL = 2,	/* pem str16 -> status */
	AGENT_IPC_STATE = 3,	/* counter u64, heartbeat u32 -> status */
	/* Admin worker only: one admin request (mm_admin_msg JSON) -> the
	 * monitor's JSON reply, both str16. */
	AGENT_IPC_ADMIN = 4,
	/* Network worker: the auth summary for the fleet -> cred u8 (0 no
	 * accounts, 1 set, 2 initial), failures u32, refused u32, lockouts u32,
	 * maintenance-until u64, heartbeat u32 (the stored override, 0 = the
	 * interval of agent.json). */
	AGENT_IPC_AUTHSTAT = 5,
	/* Network worker, from a signed command: minutes u32 -> status. */
	AGENT_IPC_MAINT = 6,
	/* Network worker, from a signed command: user str8, X25519 public key
	 * 32 bytes -> the new one-time secret sealed to it, str16. */
	AGENT_IPC_CREDRESET = 7,
	/* Network worker: one event for the sealed log: type u16 (of a fixed
	 * few), severity u8, text str16 (at most 512) -> status.  The monitor
	 * rate-limits them and records how many it dropped. */
	AGENT_IPC_EVENT = 8,
	/* Network worker: the next batch of the sealed log for the fleet
	 * (decision 0009): from u64 (0: after what the fleet acknowledged)
	 * -> status (MM_ERR_NOT_FOUND: nothing to send), log id 16 bytes,
	 * first u64, n u32, lost_from u64 (0, or records lost_from..first-1
	 * are gone), prev tag 32 bytes, records str16. */
	AGENT_IPC_LOG_BATCH = 9,
	/* Network worker: a down/log_ack: log id 16 bytes, seq u64, the
	 * fleet's time (Unix ms) u64 -> status. */
	AGENT_IPC_LOG_ACK = 10,
	AGENT_IPC__MAX
};

/* New request buffer starting with type. */
struct mm_buf *agent_ipc_new(enum agent_ipc_type type);
/* Sends b as one message. */
int agent_ipc_send(int fd, const struct mm_buf *b);
/* Receives one message into a new buffer (*out); MM_ERR_IO on EOF. */
int agent_ipc_recv(int fd, struct mm_buf **out);
/* Worker side: sends req and waits for the reply; returns the monitor's
 * status, with the rest of the reply in *reply if wanted (may be NULL). */
int agent_ipc_call(int fd, const struct mm_buf *req, struct mm_buf **reply);

#endif
