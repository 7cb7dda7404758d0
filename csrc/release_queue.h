/* Zero-copy release queue: how libzmq hands buffers back without the GIL.
 *
 * libzmq calls zmqipc_release_cb from whatever thread drops the last reference
 * to a zero-copy message (often its I/O thread). That thread must never take
 * the GIL, so the callback only links the message's node onto a lock-free
 * stack, then
 *   - asks the scheduler (a Py_AddPendingCall) for a drain on the main thread,
 *     unless one is already scheduled; a failed request is retried by the next
 *     release, because the "scheduled" flag stays clear;
 *   - wakes every armed watcher: a socket the callback writes one byte to, so
 *     threads (select) and event loops (add_reader) can wait for releases.
 * Python-side code pops the whole stack under the GIL (on later send/recv
 * calls, tracker checks, and the scheduled drain) and drops the references the
 * nodes stand for. Every variable shared with libzmq's threads is atomic.
 */
#ifndef ZMQIPC_RELEASE_QUEUE_H
#define ZMQIPC_RELEASE_QUEUE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zmqipc_release_node {
    struct zmqipc_release_node *next;
    void *owner; /* the PyObject kept alive for libzmq; read only under the GIL */
} zmqipc_release_node;

/* zmq_free_fn: data is the message buffer, hint the zmqipc_release_node. */
void zmqipc_release_cb(void *data, void *hint);

/* Take every released node (a singly-linked list, newest first), or NULL. */
zmqipc_release_node *zmqipc_release_take_all(void);

/* The scheduled drain calls this first: later releases may schedule again. */
void zmqipc_release_drain_started(void);

/* Called without the GIL, on libzmq's thread, to schedule a drain; returns 0
   if one was scheduled, -1 if not. NULL: schedule nothing (interpreter exit). */
typedef int (*zmqipc_schedule_fn)(void);
void zmqipc_release_set_scheduler(zmqipc_schedule_fn fn);

/* Watchers: up to ZMQIPC_MAX_WATCHERS sockets (the writing end of a socket
   pair, non-blocking). A watcher slot lives as long as the process. */
#define ZMQIPC_MAX_WATCHERS 64
/* Register a socket; the slot number, or -1 if every slot is taken. */
int zmqipc_release_watch(intptr_t socket_fd);
/* The next release writes one byte to the slot's socket (once per arming). */
void zmqipc_release_arm(int slot);
/* In a forked child: forget every watcher (their sockets are the parent's, and the
   child may have closed and reused those descriptors), so no release writes there. */
void zmqipc_release_forget_watchers(void);

#ifdef __cplusplus
}
#endif
#endif
