/* An LD_PRELOAD shim for tests/test_ipc_bind_files.py: it holds the thread that
   closes the listening AF_UNIX socket bound at $ZMQIPC_GATE_PATH, right after
   close() returns, until the test lets it go. That thread is libzmq's I/O
   thread, so a test can act at an exact point of a listener's close instead
   of hoping to hit it.

   Protocol (file descriptors inherited or made by the test, given in the
   environment): the shim writes one byte to $ZMQIPC_GATE_REACHED_FD once the
   socket is closed, then waits for one byte on $ZMQIPC_GATE_OPEN_FD. Only the
   first such close is held. */
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

int close (int fd)
{
    static int (*real_close) (int);
    static int held;
    if (!real_close)
        real_close = (int (*) (int)) dlsym (RTLD_NEXT, "close");

    const char *path = getenv ("ZMQIPC_GATE_PATH");
    const int hold = path && listens_at (fd, path)
                     && __sync_bool_compare_and_swap (&held, 0, 1);
    const int rc = real_close (fd);
    if (hold) {
        const int saved = errno;
        char byte = 1;
        if (write (atoi (getenv ("ZMQIPC_GATE_REACHED_FD")), &byte, 1) != 1
            || read (atoi (getenv ("ZMQIPC_GATE_OPEN_FD")), &byte, 1) != 1)
            abort ();
        errno = saved;
    }
    return rc;
}
