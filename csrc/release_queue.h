/* Zero-copy release queue: how libzmq hands buffers back without the GIL.
 *
 * libzmq calls zmqipc_release_cb from whatever thread drops the last reference
 * to a zero-copy message (often its I/O thread). That thread must never take
 * the GIL, so the callback only links the message's node onto a lock-free
 * stack. Python-side code pops the whole stack under the GIL (on later
 * send/recv calls, tracker checks, and a pending call scheduled when the stack
 * turns non-empty) and drops the references the nodes stand for.
 */
#ifndef ZMQIPC_RELEASE_QUEUE_H
#define ZMQIPC_RELEASE_QUEUE_H

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

/* Called (without the GIL, from libzmq's thread) when the stack turns non-empty. */
typedef void (*zmqipc_wakeup_fn)(void);
void zmqipc_release_set_wakeup(zmqipc_wakeup_fn fn);

#ifdef __cplusplus
}
#endif
#endif
