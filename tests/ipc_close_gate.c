/* An LD_PRELOAD shim for tests/test_ipc_bind_files.py: it holds the thread that
   closes the listening AF_UNIX socket bound at $ZMQIPC_GATE_PATH, right after
   close() returns, until the test lets it go; with ZMQIPC_GATE_CALL=unlink it
   holds the thread that unlinks $ZMQIPC_GATE_PATH instead, right after unlink()
   returns. That thread is libzmq's I/O thread, so a test can act at an exact
   point of a listener's close instead of hoping to hit it.

   Protocol (file descriptors made by the test, given in the environment): the
   shim writes one byte to $ZMQIPC_GATE_REACHED_FD once the call returned, then
   waits for one byte on $ZMQIPC_GATE_OPEN_FD. Only the first such call is
   held. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int listens_at (int fd, const char *path)
{
    struct sockaddr_un addr;
    socklen_t len = sizeof addr;
    int listening = 0;
    socklen_t listening_len = sizeof listening;
    memset (&addr, 0, sizeof addr);
    return getsockname (fd, (struct sockaddr *) &addr, &len) == 0
           && addr.sun_family == AF_UNIX
           && len > offsetof (struct sockaddr_un, sun_path)
           && strncmp (addr.sun_path, path, sizeof addr.sun_path) == 0
           && getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
                          &listening_len)
                == 0
           && listening;
}

static int held;

/* True, once, when the call named by ZMQIPC_GATE_CALL (default close) is to be
   held; matches_ tells whether this call concerns $ZMQIPC_GATE_PATH. */
static int to_hold (const char *call_, int (*matches_) (const void *, const char *),
                    const void *arg_)
{
    const char *path = getenv ("ZMQIPC_GATE_PATH");
    const char *call = getenv ("ZMQIPC_GATE_CALL");
    return path && strcmp (call ? call : "close", call_) == 0
           && matches_ (arg_, path) && __sync_bool_compare_and_swap (&held, 0, 1);
}

static void hold_here (void)
{
    const int saved = errno;
    char byte = 1;
    if (write (atoi (getenv ("ZMQIPC_GATE_REACHED_FD")), &byte, 1) != 1
        || read (atoi (getenv ("ZMQIPC_GATE_OPEN_FD")), &byte, 1) != 1)
        abort ();
    errno = saved;
}

static int fd_listens_at (const void *fd_, const char *path)
{
    return listens_at (*(const int *) fd_, path);
}

static int names (const void *pathname_, const char *path)
{
    return strcmp ((const char *) pathname_, path) == 0;
}

int close (int fd)
{
    static int (*real_close) (int);
    if (!real_close)
        real_close = (int (*) (int)) dlsym (RTLD_NEXT, "close");
    const int hold = to_hold ("close", fd_listens_at, &fd);
    const int rc = real_close (fd);
    if (hold)
        hold_here ();
    return rc;
}

int unlink (const char *pathname)
{
    static int (*real_unlink) (const char *);
    if (!real_unlink)
        real_unlink = (int (*) (const char *)) dlsym (RTLD_NEXT, "unlink");
    const int hold = to_hold ("unlink", names, pathname);
    const int rc = real_unlink (pathname);
    if (hold)
        hold_here ();
    return rc;
}
