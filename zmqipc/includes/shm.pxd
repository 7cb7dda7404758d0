# Raw declarations from csrc/shm.h (shared-memory segments for zmqipc.shm).
from libc.stdint cimport uint64_t, intptr_t


cdef extern from "shm.h" nogil:
    enum:
        ZMQIPC_SHM_HEADER_SIZE
        ZMQIPC_SHM_PENDING_BITS
        ZMQIPC_SHM_PENDING_MAX
        ZMQIPC_SHM_EFOREIGN
        ZMQIPC_SHM_EFORMAT
        ZMQIPC_SHM_EFULL
        ZMQIPC_SHM_ESTALE
    ctypedef struct zmqipc_shm_header:
        uint64_t owner
        uint64_t state
        uint64_t last_send_ns
        uint64_t retired
        uint64_t pid_ns
    ctypedef struct zmqipc_shm_map:
        zmqipc_shm_header *header
        uint64_t size
        intptr_t handle
    int zmqipc_shm_create(const char *name, uint64_t size, zmqipc_shm_map *out)
    int zmqipc_shm_open(const char *name, zmqipc_shm_map *out)
    void zmqipc_shm_unmap(zmqipc_shm_map *map)
    int zmqipc_shm_unlink(const char *name)
    uint64_t zmqipc_shm_self_key()
    int zmqipc_shm_key_alive(uint64_t key)
    uint64_t zmqipc_shm_pid_namespace()
    int zmqipc_shm_claim_slot(zmqipc_shm_header *h, uint64_t key)
    void zmqipc_shm_release_slot(zmqipc_shm_header *h, int slot, uint64_t key)
    int zmqipc_shm_move_slot(zmqipc_shm_header *h, int slot, uint64_t old_key, uint64_t new_key)
    int zmqipc_shm_accept(zmqipc_shm_header *h, uint64_t gen)
    uint64_t zmqipc_shm_mark_sent(zmqipc_shm_header *h, uint64_t now_ns)
    int zmqipc_shm_live_holders(zmqipc_shm_header *h)
    int zmqipc_shm_recycle(zmqipc_shm_header *h, uint64_t now_ns, uint64_t lease_ns, int reap)
    uint64_t zmqipc_shm_load(uint64_t *p)
    void zmqipc_shm_store(uint64_t *p, uint64_t value)
