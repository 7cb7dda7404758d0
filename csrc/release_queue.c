/* Lock-free release stack for zero-copy sends; see release_queue.h.
 * Producers (libzmq threads) push with compare-and-swap; the single consumer
 * (code holding the GIL) swaps the whole stack out, so there is no ABA hazard.
 * Every variable shared between threads is read and written with atomics. */
#include <stddef.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <windows.h>
#else
#include <unistd.h>
#endif

#include "release_queue.h"

#if defined(_MSC_VER)
#define CAS_PTR(dst, expected, desired) \
    (InterlockedCompareExchangePointer((PVOID volatile *)(dst), (desired), (expected)) == (expected))
#define SWAP_PTR(dst, value) InterlockedExchangePointer((PVOID volatile *)(dst), (value))
#define LOAD_PTR(src) InterlockedCompareExchangePointer((PVOID volatile *)(src), NULL, NULL)
#define STORE_PTR(dst, value) ((void)InterlockedExchangePointer((PVOID volatile *)(dst), (value)))
#define SWAP_INT(dst, value) InterlockedExchange((LONG volatile *)(dst), (value))
#define LOAD_INT(src) InterlockedCompareExchange((LONG volatile *)(src), 0, 0)
#define STORE_INT(dst, value) ((void)InterlockedExchange((LONG volatile *)(dst), (value)))
#define ADD_INT(dst, value) ((void)InterlockedExchangeAdd((LONG volatile *)(dst), (value)))
#define STORE_FD(dst, value) ((void)InterlockedExchange64((LONG64 volatile *)(dst), (value)))
#define LOAD_FD(src) InterlockedCompareExchange64((LONG64 volatile *)(src), 0, 0)
typedef LONG shared_int;
typedef LONG64 shared_fd;
#else
#define CAS_PTR(dst, expected, desired) \
    __atomic_compare_exchange_n((dst), &(expected), (desired), 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)
#define SWAP_PTR(dst, value) __atomic_exchange_n((dst), (value), __ATOMIC_SEQ_CST)
#define LOAD_PTR(src) __atomic_load_n((src), __ATOMIC_SEQ_CST)
#define STORE_PTR(dst, value) __atomic_store_n((dst), (value), __ATOMIC_SEQ_CST)
#define SWAP_INT(dst, value) __atomic_exchange_n((dst), (value), __ATOMIC_SEQ_CST)
#define LOAD_INT(src) __atomic_load_n((src), __ATOMIC_SEQ_CST)
#define STORE_INT(dst, value) __atomic_store_n((dst), (value), __ATOMIC_SEQ_CST)
#define ADD_INT(dst, value) ((void)__atomic_add_fetch((dst), (value), __ATOMIC_SEQ_CST))
#define STORE_FD(dst, value) __atomic_store_n((dst), (value), __ATOMIC_SEQ_CST)
#define LOAD_FD(src) __atomic_load_n((src), __ATOMIC_SEQ_CST)
typedef int shared_int;
typedef intptr_t shared_fd;
#endif

static zmqipc_release_node *volatile released_head = NULL;
static zmqipc_schedule_fn volatile scheduler = NULL;
static volatile shared_int drain_scheduled = 0;

/* Watcher slots [0, watchers_taken): socket, armed flag; armed_count skips the scan. */
static volatile shared_fd watcher_fd[ZMQIPC_MAX_WATCHERS];
static volatile shared_int watcher_armed[ZMQIPC_MAX_WATCHERS];
static volatile shared_int watchers_taken = 0;
static volatile shared_int armed_count = 0;

static void schedule_drain(void)
{
    zmqipc_schedule_fn fn;
    if (SWAP_INT(&drain_scheduled, 1))
        return; /* a drain is already on its way and will take our node */
    fn = (zmqipc_schedule_fn)LOAD_PTR(&scheduler);
    if (fn == NULL || fn() != 0)
        STORE_INT(&drain_scheduled, 0); /* not scheduled: the next release tries again */
}

static void wake_watchers(void)
{
    int slot, taken;
    if (LOAD_INT(&armed_count) == 0)
        return;
    taken = LOAD_INT(&watchers_taken);
    for (slot = 0; slot < taken && slot < ZMQIPC_MAX_WATCHERS; slot++) {
        if (SWAP_INT(&watcher_armed[slot], 0)) {
            intptr_t fd = (intptr_t)LOAD_FD(&watcher_fd[slot]);
            ADD_INT(&armed_count, -1);
            /* Non-blocking: a full buffer already means "readable". */
#if defined(_WIN32)
            (void)send((SOCKET)fd, "r", 1, 0);
#else
            (void)!write((int)fd, "r", 1);
#endif
        }
    }
}

void zmqipc_release_cb(void *data, void *hint)
{
    zmqipc_release_node *node = (zmqipc_release_node *)hint;
    zmqipc_release_node *head;
    (void)data;
    do {
        head = (zmqipc_release_node *)LOAD_PTR(&released_head);
        node->next = head;
    } while (!CAS_PTR(&released_head, head, node));
    schedule_drain();
    wake_watchers();
}

zmqipc_release_node *zmqipc_release_take_all(void)
{
    /* A load first: the common empty case costs no atomic write. */
    if (LOAD_PTR(&released_head) == NULL)
        return NULL;
    return (zmqipc_release_node *)SWAP_PTR(&released_head, NULL);
}

void zmqipc_release_drain_started(void)
{
    STORE_INT(&drain_scheduled, 0);
}

void zmqipc_release_set_scheduler(zmqipc_schedule_fn fn)
{
    STORE_PTR(&scheduler, fn);
}

int zmqipc_release_watch(intptr_t socket_fd)
{
    /* Called under the GIL only: slots are handed out in order, and a slot is
       published (watchers_taken) only after its socket is stored. */
    int slot = LOAD_INT(&watchers_taken);
    if (slot >= ZMQIPC_MAX_WATCHERS)
        return -1;
    STORE_FD(&watcher_fd[slot], (shared_fd)socket_fd);
    STORE_INT(&watchers_taken, slot + 1);
    return slot;
}

void zmqipc_release_arm(int slot)
{
    if (slot < 0 || slot >= ZMQIPC_MAX_WATCHERS)
        return;
    if (SWAP_INT(&watcher_armed[slot], 1) == 0)
        ADD_INT(&armed_count, 1);
}

void zmqipc_release_forget_watchers(void)
{
    int slot;
    STORE_INT(&watchers_taken, 0);
    for (slot = 0; slot < ZMQIPC_MAX_WATCHERS; slot++)
        STORE_INT(&watcher_armed[slot], 0);
    STORE_INT(&armed_count, 0);
}
