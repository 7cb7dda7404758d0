/* Shared-memory segments for zmqipc.shm; see shm.h and docs/shm.md. */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shm.h"

/* --- atomics: gcc/clang builtins (mingw included), Interlocked on MSVC ----- */
#if defined(_MSC_VER)
#include <windows.h>
#define ZQ_LOAD(p) ((uint64_t)InterlockedCompareExchange64((volatile LONG64 *)(p), 0, 0))
#define ZQ_STORE(p, v) ((void)InterlockedExchange64((volatile LONG64 *)(p), (LONG64)(v)))
#define ZQ_CAS(p, expected, desired) \
    ((uint64_t)InterlockedCompareExchange64((volatile LONG64 *)(p), (LONG64)(desired), \
                                            (LONG64)(expected)) == (uint64_t)(expected))
#else
#define ZQ_LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define ZQ_STORE(p, v) __atomic_store_n((p), (uint64_t)(v), __ATOMIC_SEQ_CST)
static int zq_cas(volatile uint64_t *p, uint64_t expected, uint64_t desired)
{
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}
#define ZQ_CAS(p, expected, desired) zq_cas((p), (expected), (desired))
#endif

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#endif
#ifdef __APPLE__
#include <sys/sysctl.h>
#endif

uint64_t zmqipc_shm_load(volatile uint64_t *p) { return ZQ_LOAD(p); }
void zmqipc_shm_store(volatile uint64_t *p, uint64_t value) { ZQ_STORE(p, value); }

void zmqipc_shm_copy(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }

/* --- process keys: pid plus start time, so a reused pid is not mistaken ----- */

/* The low 32 bits of the process's start time; 0 if unknown. *alive = 0 when the
 * process does not exist (or is a zombie). */
static uint32_t process_start(uint32_t pid, int *alive)
{
    *alive = 0;
#if defined(_WIN32)
    HANDLE process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    FILETIME created, exited, kernel, user;
    DWORD code = 0;
    uint32_t start = 0;
    if (process == NULL) {
        *alive = GetLastError() == ERROR_ACCESS_DENIED;   /* exists, not ours to query */
        return 0;
    }
    if (GetExitCodeProcess(process, &code) && code == STILL_ACTIVE) {
        *alive = 1;
        if (GetProcessTimes(process, &created, &exited, &kernel, &user))
            start = created.dwLowDateTime;
    }
    CloseHandle(process);
    return start;
#elif defined(__APPLE__)
    struct kinfo_proc info;
    size_t len = sizeof(info);
    int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)pid};
    memset(&info, 0, sizeof(info));
    if (sysctl(mib, 4, &info, &len, NULL, 0) != 0 || len == 0 || info.kp_proc.p_pid != (pid_t)pid)
        return 0;
    if (info.kp_proc.p_stat == SZOMB)
        return 0;
    *alive = 1;
    return (uint32_t)((uint64_t)info.kp_proc.p_starttime.tv_sec * 1000000u
                      + (uint64_t)info.kp_proc.p_starttime.tv_usec);
#else
    char path[64], buf[1024];
    const char *p;
    FILE *f;
    size_t n;
    int field;
    snprintf(path, sizeof(path), "/proc/%u/stat", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT && access("/proc/self/stat", F_OK) == 0)
            return 0;   /* /proc is there and has no such process */
        /* No /proc (not mounted, or unreadable): a signal probe, start time unknown. */
        *alive = kill((pid_t)pid, 0) == 0 || errno == EPERM;
        return 0;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');          /* the command name may hold spaces and ')' */
    if (p == NULL || p[1] != ' ')
        return 0;
    p += 2;                         /* field 3: state */
    if (*p == 'Z' || *p == 'X' || *p == 'x')
        return 0;
    *alive = 1;
    for (field = 3; field < 22 && *p; p++)   /* field 22: start time in clock ticks */
        if (*p == ' ')
            field++;
    return (uint32_t)strtoull(p, NULL, 10);
#endif
}

static uint32_t current_pid(void)
{
#ifdef _WIN32
    return (uint32_t)GetCurrentProcessId();
#else
    return (uint32_t)getpid();
#endif
}

uint64_t zmqipc_shm_self_key(void)
{
    /* Cached per pid: a forked child recomputes its own. Races only store the
     * same value twice. */
    static volatile uint64_t cached;
    uint64_t key = ZQ_LOAD(&cached);
    uint32_t pid = current_pid();
    int alive;
    if (key != 0 && (uint32_t)key == pid)
        return key;
    key = (uint64_t)pid | ((uint64_t)process_start(pid, &alive) << 32);
    ZQ_STORE(&cached, key);
    return key;
}

uint64_t zmqipc_shm_pid_namespace(void)
{
#if defined(__linux__)
    struct stat st;
    return stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 0;
#else
    return 0;
#endif
}

int zmqipc_shm_key_alive(uint64_t key)
{
    int alive;
    uint32_t start;
    if (key == 0)
        return 0;
    if (key == zmqipc_shm_self_key())
        return 1;
    start = process_start((uint32_t)key, &alive);
    return alive && (start == (uint32_t)(key >> 32) || start == 0);
}

/* --- holder slots and generations --------------------------------------------- */

int zmqipc_shm_claim_slot(zmqipc_shm_header *h, uint64_t key)
{
    int i;
    for (i = 0; i < ZMQIPC_SHM_SLOTS; i++)
        if (ZQ_LOAD(&h->holders[i]) == 0 && ZQ_CAS(&h->holders[i], 0, key))
            return i;
    /* Full: free the slots of dead processes and try once more. */
    zmqipc_shm_live_holders(h);
    for (i = 0; i < ZMQIPC_SHM_SLOTS; i++)
        if (ZQ_LOAD(&h->holders[i]) == 0 && ZQ_CAS(&h->holders[i], 0, key))
            return i;
    return -1;
}

void zmqipc_shm_release_slot(zmqipc_shm_header *h, int slot, uint64_t key)
{
    if (slot >= 0 && slot < ZMQIPC_SHM_SLOTS)
        ZQ_CAS(&h->holders[slot], key, 0);
}

int zmqipc_shm_move_slot(zmqipc_shm_header *h, int slot, uint64_t old_key, uint64_t new_key)
{
    if (slot < 0 || slot >= ZMQIPC_SHM_SLOTS)
        return EINVAL;
    return ZQ_CAS(&h->holders[slot], old_key, new_key) ? 0 : ZMQIPC_SHM_ESTALE;
}

int zmqipc_shm_accept(zmqipc_shm_header *h, uint64_t gen)
{
    uint64_t state = ZQ_LOAD(&h->state);
    if ((state >> ZMQIPC_SHM_PENDING_BITS) != gen)
        return ZMQIPC_SHM_ESTALE;
    /* Our slot is visible, so the generation cannot move on under us; consuming
     * one pending descriptor only lets the owner reuse sooner. */
    while ((state & ZMQIPC_SHM_PENDING_MAX) != 0 && (state >> ZMQIPC_SHM_PENDING_BITS) == gen
           && !ZQ_CAS(&h->state, state, state - 1))
        state = ZQ_LOAD(&h->state);
    return 0;
}

uint64_t zmqipc_shm_mark_sent(zmqipc_shm_header *h, uint64_t now_ns)
{
    uint64_t state = ZQ_LOAD(&h->state);
    ZQ_STORE(&h->last_send_ns, now_ns);
    /* Saturates: a full counter just waits for the lease. */
    while ((state & ZMQIPC_SHM_PENDING_MAX) != ZMQIPC_SHM_PENDING_MAX
           && !ZQ_CAS(&h->state, state, state + 1))
        state = ZQ_LOAD(&h->state);
    return state >> ZMQIPC_SHM_PENDING_BITS;
}

int zmqipc_shm_live_holders(zmqipc_shm_header *h)
{
    int i, live = 0;
    for (i = 0; i < ZMQIPC_SHM_SLOTS; i++) {
        uint64_t key = ZQ_LOAD(&h->holders[i]);
        if (key == 0)
            continue;
        if (zmqipc_shm_key_alive(key))
            live++;
        else
            ZQ_CAS(&h->holders[i], key, 0);   /* a crashed holder's reference */
    }
    return live;
}

static int any_holder(zmqipc_shm_header *h)
{
    int i;
    for (i = 0; i < ZMQIPC_SHM_SLOTS; i++)
        if (ZQ_LOAD(&h->holders[i]) != 0)
            return 1;
    return 0;
}

int zmqipc_shm_recycle(zmqipc_shm_header *h, uint64_t now_ns, uint64_t lease_ns, int reap)
{
    uint64_t state = ZQ_LOAD(&h->state);
    uint64_t last = ZQ_LOAD(&h->last_send_ns);
    if ((state & ZMQIPC_SHM_PENDING_MAX) != 0 && (now_ns < last || now_ns - last < lease_ns))
        return 0;
    /* Without reap, any taken slot counts as live: no process lookups. */
    if (reap ? zmqipc_shm_live_holders(h) != 0 : any_holder(h))
        return 0;
    if (!ZQ_CAS(&h->state, state, ((state >> ZMQIPC_SHM_PENDING_BITS) + 1) << ZMQIPC_SHM_PENDING_BITS))
        return 0;
    /* A receiver may have claimed a slot between the scan and the new generation:
     * it read the old generation, so it keeps the memory. */
    return zmqipc_shm_live_holders(h) == 0;
}

/* --- mapping: POSIX ------------------------------------------------------------ */

static void init_header(zmqipc_shm_header *h, uint64_t size)
{
    memset(h, 0, sizeof(*h));
    h->version = ZMQIPC_SHM_VERSION;
    h->header_size = ZMQIPC_SHM_HEADER_SIZE;
    h->size = size;
    h->owner = zmqipc_shm_self_key();
    h->pid_ns = zmqipc_shm_pid_namespace();
    memcpy(h->magic, ZMQIPC_SHM_MAGIC, 8);   /* last: a half-made header fails the check */
}

/* The header must describe the object it is in. macOS rounds shm sizes up to its
 * page size (16 KiB on arm64), so the real size may exceed the header's by less
 * than 64 KiB; every access stays within the header's size, inside the mapping. */
static int check_header(const zmqipc_shm_header *h, uint64_t mapped)
{
    if (memcmp(h->magic, ZMQIPC_SHM_MAGIC, 8) != 0 || h->version != ZMQIPC_SHM_VERSION
        || h->header_size != ZMQIPC_SHM_HEADER_SIZE || h->size > mapped
        || mapped - h->size >= 65536 || h->size < ZMQIPC_SHM_HEADER_SIZE)
        return ZMQIPC_SHM_EFORMAT;
    return 0;
}

#ifndef _WIN32

int zmqipc_shm_create(const char *name, uint64_t size, zmqipc_shm_map *out)
{
    void *base;
    int fd, err;
    memset(out, 0, sizeof(*out));
    if (size < ZMQIPC_SHM_HEADER_SIZE || (uint64_t)(off_t)size != size)
        return EINVAL;
    fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return errno;
    /* 0600 from shm_open itself (a umask only removes bits); macOS shm has no fchmod. */
    if (ftruncate(fd, (off_t)size) != 0)
        goto fail;
#ifdef __linux__
    /* Reserve the pages now: a full /dev/shm is ENOSPC here, not SIGBUS later. */
    err = posix_fallocate(fd, 0, (off_t)size);
    if (err != 0) {
        errno = err;
        goto fail;
    }
#endif
    base = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        goto fail;
    close(fd);
    out->header = (zmqipc_shm_header *)base;
    out->size = size;
    init_header(out->header, size);
    return 0;
fail:
    err = errno;
    close(fd);
    shm_unlink(name);
    return err;
}

int zmqipc_shm_open(const char *name, zmqipc_shm_map *out)
{
    struct stat st;
    void *base;
    int fd, err;
    memset(out, 0, sizeof(*out));
    fd = shm_open(name, O_RDWR, 0);
    if (fd < 0)
        return errno;
    if (fstat(fd, &st) != 0) {
        err = errno;
        close(fd);
        return err;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 0077) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ZMQIPC_SHM_EFOREIGN;
    }
    if (st.st_size < (off_t)ZMQIPC_SHM_HEADER_SIZE || (uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return ZMQIPC_SHM_EFORMAT;
    }
    base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    err = errno;
    close(fd);
    if (base == MAP_FAILED)
        return err;
    out->header = (zmqipc_shm_header *)base;
    out->size = (uint64_t)st.st_size;
    err = check_header(out->header, out->size);
    if (err != 0)
        zmqipc_shm_unmap(out);
    return err;
}

void zmqipc_shm_unmap(zmqipc_shm_map *map)
{
    if (map->header != NULL)
        munmap((void *)map->header, (size_t)map->size);
    map->header = NULL;
    map->size = 0;
}

int zmqipc_shm_unlink(const char *name)
{
    return shm_unlink(name) == 0 ? 0 : errno;
}

#else /* --- mapping: Windows named file mappings ------------------------------- */

static int wide_name(const char *name, wchar_t *out, size_t cap)
{
    size_t i, n = strlen(name);
    if (n + 1 > cap)
        return EINVAL;
    for (i = 0; i <= n; i++)   /* names are ASCII by construction */
        out[i] = (wchar_t)(unsigned char)name[i];
    return 0;
}

static int windows_errno(DWORD err)
{
    switch (err) {
    case ERROR_FILE_NOT_FOUND: return ENOENT;
    case ERROR_ALREADY_EXISTS: return EEXIST;
    case ERROR_ACCESS_DENIED: return ZMQIPC_SHM_EFOREIGN;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_COMMITMENT_LIMIT: return ENOMEM;
    default: return EINVAL;
    }
}

int zmqipc_shm_create(const char *name, uint64_t size, zmqipc_shm_map *out)
{
    wchar_t wname[128];
    HANDLE mapping;
    void *base;
    int err;
    memset(out, 0, sizeof(*out));
    if (size < ZMQIPC_SHM_HEADER_SIZE || wide_name(name, wname, 128) != 0)
        return EINVAL;
    /* The default security descriptor: the creating user (and administrators). */
    mapping = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
                                 (DWORD)(size >> 32), (DWORD)(size & 0xffffffffu), wname);
    if (mapping == NULL)
        return windows_errno(GetLastError());
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
        CloseHandle(mapping);
        return EEXIST;
    }
    base = MapViewOfFile(mapping, FILE_MAP_ALL_ACCESS, 0, 0, (SIZE_T)size);
    if (base == NULL) {
        err = windows_errno(GetLastError());
        CloseHandle(mapping);
        return err;
    }
    out->header = (zmqipc_shm_header *)base;
    out->size = size;
    out->handle = (intptr_t)mapping;   /* keeps the name alive while we hold it */
    init_header(out->header, size);
    return 0;
}

int zmqipc_shm_open(const char *name, zmqipc_shm_map *out)
{
    wchar_t wname[128];
    MEMORY_BASIC_INFORMATION info;
    HANDLE mapping;
    void *base;
    int err;
    memset(out, 0, sizeof(*out));
    if (wide_name(name, wname, 128) != 0)
        return EINVAL;
    mapping = OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, wname);
    if (mapping == NULL)
        return windows_errno(GetLastError());
    base = MapViewOfFile(mapping, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    if (base == NULL) {
        err = windows_errno(GetLastError());
        CloseHandle(mapping);
        return err;
    }
    if (VirtualQuery(base, &info, sizeof(info)) == 0 || info.RegionSize < ZMQIPC_SHM_HEADER_SIZE) {
        UnmapViewOfFile(base);
        CloseHandle(mapping);
        return ZMQIPC_SHM_EFORMAT;
    }
    out->header = (zmqipc_shm_header *)base;
    out->handle = (intptr_t)mapping;
    /* The view is rounded up to pages: trust the header's size only within it. */
    out->size = info.RegionSize;
    if (out->header->size <= info.RegionSize && out->header->size >= ZMQIPC_SHM_HEADER_SIZE)
        out->size = out->header->size;
    err = check_header(out->header, out->size);
    if (err != 0)
        zmqipc_shm_unmap(out);
    return err;
}

void zmqipc_shm_unmap(zmqipc_shm_map *map)
{
    if (map->header != NULL)
        UnmapViewOfFile((void *)map->header);
    if (map->handle != 0)
        CloseHandle((HANDLE)map->handle);
    map->header = NULL;
    map->size = 0;
    map->handle = 0;
}

int zmqipc_shm_unlink(const char *name)
{
    (void)name;
    return 0;
}

#endif
