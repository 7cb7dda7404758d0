/* Shared-memory segments for zmqipc.shm (design: docs/shm.md).
 *
 * A segment is one named shared-memory object: a 4 KiB header page followed by
 * the array data. The header carries the reference state that several processes
 * update with atomics:
 *   state    generation << 20 | pending  (pending = descriptors sent for this
 *            generation that no receiver has claimed yet)
 *   holders  one slot per process holding views on the segment, holding that
 *            process's key (pid | start time << 32); 0 = free.
 * The segment is reused (generation + 1) only when no live process holds a slot
 * and nothing is pending (or the pending lease expired). A receiver claims a slot
 * first and checks the generation after (seq_cst on both sides), so it either
 * sees the new generation and gives up, or the recycler sees its slot.
 *
 * Platform code: POSIX shm_open/mmap (Linux, macOS), CreateFileMappingW (Windows).
 * Every function returns 0 or a positive errno-style code; nothing here touches
 * Python.
 */
#ifndef ZMQIPC_SHM_H
#define ZMQIPC_SHM_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZMQIPC_SHM_MAGIC "ZQSHMSEG"
#define ZMQIPC_SHM_VERSION 1u
#define ZMQIPC_SHM_HEADER_SIZE 4096u
#define ZMQIPC_SHM_SLOTS 500
#define ZMQIPC_SHM_PENDING_BITS 20
#define ZMQIPC_SHM_PENDING_MAX ((1u << ZMQIPC_SHM_PENDING_BITS) - 1u)

/* Error codes beyond errno (positive, above any errno value in use). */
#define ZMQIPC_SHM_EFOREIGN 10001   /* not owned by this user, or not 0600 */
#define ZMQIPC_SHM_EFORMAT 10002    /* too small, bad magic/version/header */
#define ZMQIPC_SHM_EFULL 10003      /* every holder slot is taken */
#define ZMQIPC_SHM_ESTALE 10004     /* the generation moved on: memory was reused */

typedef struct zmqipc_shm_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint64_t size;                  /* whole segment in bytes, header included */
    uint64_t owner;                 /* key of the creating process */
    volatile uint64_t state;        /* generation << 20 | pending */
    volatile uint64_t last_send_ns; /* wall clock (ns) of the last descriptor sent */
    volatile uint64_t retired;      /* 1 once the owner gave the segment up */
    uint64_t pid_ns;                /* creator's PID namespace (zmqipc_shm_pid_namespace) */
    volatile uint64_t holders[ZMQIPC_SHM_SLOTS];
} zmqipc_shm_header;

typedef struct zmqipc_shm_map {
    zmqipc_shm_header *header;      /* == base of the mapping */
    uint64_t size;                  /* bytes mapped (the object's real size) */
    intptr_t handle;                /* Windows: the mapping handle; POSIX: unused */
} zmqipc_shm_map;

/* Create a new segment of `size` bytes (>= header) named `name` (POSIX: "/zq...",
 * Windows: "Local\\zq..."), owner-only, and map it. Fails with EEXIST if taken. */
int zmqipc_shm_create(const char *name, uint64_t size, zmqipc_shm_map *out);
/* Open and map an existing segment, checking owner, mode and header. */
int zmqipc_shm_open(const char *name, zmqipc_shm_map *out);
void zmqipc_shm_unmap(zmqipc_shm_map *map);
/* Remove the name (POSIX); a no-op on Windows, where the last handle frees it. */
int zmqipc_shm_unlink(const char *name);

/* This process's key: pid | (start time & 0xffffffff) << 32 (never 0). */
uint64_t zmqipc_shm_self_key(void);
/* 1 if the process `key` names is alive (same pid and start time), else 0. */
int zmqipc_shm_key_alive(uint64_t key);
/* This process's PID namespace (Linux: the inode of /proc/self/ns/pid); 0 where
 * there are none or it cannot be read. Keys only mean something inside one. */
uint64_t zmqipc_shm_pid_namespace(void);

/* Take a free holder slot for `key`; returns the slot index or -1 (all taken). */
int zmqipc_shm_claim_slot(zmqipc_shm_header *h, uint64_t key);
/* Give slot `slot` back if it still holds `key`. */
void zmqipc_shm_release_slot(zmqipc_shm_header *h, int slot, uint64_t key);
/* Hand slot `slot` from `old_key` to `new_key` (a forked child taking over). */
int zmqipc_shm_move_slot(zmqipc_shm_header *h, int slot, uint64_t old_key, uint64_t new_key);
/* After claiming a slot: 0 if the current generation is `gen` (one pending
 * descriptor is consumed), ZMQIPC_SHM_ESTALE otherwise. */
int zmqipc_shm_accept(zmqipc_shm_header *h, uint64_t gen);
/* Count one more descriptor in flight; returns the generation it names. */
uint64_t zmqipc_shm_mark_sent(zmqipc_shm_header *h, uint64_t now_ns);
/* Live holder slots; slots of dead processes are freed on the way. */
int zmqipc_shm_live_holders(zmqipc_shm_header *h);
/* 1 if the segment may be rewritten now: no live holder, nothing pending (or the
 * last send is older than lease_ns); the generation then moves on, so stale
 * descriptors can no longer be claimed. 0 otherwise. With reap == 0 every taken
 * slot counts as live (cheap); with reap != 0 dead processes' slots are freed. */
int zmqipc_shm_recycle(zmqipc_shm_header *h, uint64_t now_ns, uint64_t lease_ns, int reap);
uint64_t zmqipc_shm_load(volatile uint64_t *p);
void zmqipc_shm_store(volatile uint64_t *p, uint64_t value);

/* Copy n bytes (large copies without the GIL, called by Cython). */
void zmqipc_shm_copy(void *dst, const void *src, size_t n);

#ifdef __cplusplus
}
#endif
#endif
