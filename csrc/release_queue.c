/* Lock-free release stack for zero-copy sends; see release_queue.h.
 * Producers (libzmq threads) push with compare-and-swap; the single consumer
 * (code holding the GIL) swaps the whole stack out, so there is no ABA hazard. */
#include <stddef.h>

#include "release_queue.h"

#if defined(_MSC_VER)
#include <windows.h>
#define CAS_PTR(dst, expected, desired) \
    (InterlockedCompareExchangePointer((PVOID volatile *)(dst), (desired), (expected)) == (expected))
#define SWAP_PTR(dst, value) InterlockedExchangePointer((PVOID volatile *)(dst), (value))
#define LOAD_PTR(src) InterlockedCompareExchangePointer((PVOID volatile *)(src), NULL, NULL)
#else
#define CAS_PTR(dst, expected, desired) \
    __atomic_compare_exchange_n((dst), &(expected), (desired), 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)
#define SWAP_PTR(dst, value) __atomic_exchange_n((dst), (value), __ATOMIC_ACQUIRE)
#define LOAD_PTR(src) __atomic_load_n((src), __ATOMIC_RELAXED)
#endif

static zmqipc_release_node *volatile released_head = NULL;
static zmqipc_wakeup_fn wakeup = NULL;

void zmqipc_release_cb(void *data, void *hint)
{
    zmqipc_release_node *node = (zmqipc_release_node *)hint;
    zmqipc_release_node *head;
    (void)data;
    do {
        head = (zmqipc_release_node *)LOAD_PTR(&released_head);
        node->next = head;
    } while (!CAS_PTR(&released_head, head, node));
    /* Only the empty -> non-empty transition schedules a drain. */
    if (head == NULL && wakeup != NULL)
        wakeup();
}

zmqipc_release_node *zmqipc_release_take_all(void)
{
    /* A plain load first: the common empty case costs no atomic write. */
    if (LOAD_PTR(&released_head) == NULL)
        return NULL;
    return (zmqipc_release_node *)SWAP_PTR(&released_head, NULL);
}

void zmqipc_release_set_wakeup(zmqipc_wakeup_fn fn)
{
    wakeup = fn;
}
