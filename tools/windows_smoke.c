/* zmqipc: smoke test for the vendored libzmq built with our Windows config.

   Built and run by tools/windows_cross_check.sh (mingw-w64 + Wine), linked
   statically against the libzmq objects compiled with
   vendor/libzmq/config/windows/platform.hpp.  It also builds on Linux/macOS
   against the native config, which is handy for checking the test itself.

   It proves that:
     - ipc and curve are compiled in (zmq_has);
     - contexts can be created and terminated repeatedly (the internal
       signaler pair works; on Windows it is TCP loopback, patches/0002);
     - PUSH/PULL and REQ/REP round trips work over tcp://127.0.0.1 and inproc,
       and so does a CURVE-encrypted PUSH/PULL over tcp (tweetnacl with
       CryptGenRandom from advapi32);
     - ipc bind either works (real AF_UNIX) or fails cleanly with a non-zero
       errno and a real message (Wine 8 and old Windows have no AF_UNIX), and
       ipc connect to a missing peer does not crash; after that the context
       and tcp still work and zmq_ctx_term returns;
     - an ipc path longer than 107 bytes is rejected cleanly (ENAMETOOLONG);
     - ZMQ_IPC_FILTER_PID is EINVAL on Windows.

   Prints one line per check ("ok" / "FAIL") and exits 1 if any check failed.
   A hang (zmq_ctx_term never returning) is caught by the caller's timeout. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#ifdef _WIN32
#include <windows.h>
#define getpid_ (int) GetCurrentProcessId
#define SEP "\\"
#else
#define SEP "/"
#include <unistd.h>
#define getpid_ (int) getpid
#endif

static int failures = 0;
static int checks = 0;

static void check (int ok, const char *what, const char *detail)
{
    checks++;
    if (!ok)
        failures++;
    printf ("%-4s %s%s%s\n", ok ? "ok" : "FAIL", what, detail && *detail ? ": " : "",
            detail ? detail : "");
    fflush (stdout);
}

static const char *err_detail (int err)
{
    static char buf[256];
    snprintf (buf, sizeof buf, "errno %d (%s)", err, zmq_strerror (err));
    return buf;
}

/* A clean failure: a real errno with a real message (not the CRT's
   "Unknown error", which is what Windows' strerror says for socket errnos
   such as EAFNOSUPPORT unless libzmq names them; see patches/0005). */
static int clean_error (int err)
{
    const char *msg = zmq_strerror (err);
    return err != 0 && msg && *msg && strstr (msg, "Unknown error") == NULL;
}

static void set_int (void *s, int opt, int value)
{
    zmq_setsockopt (s, opt, &value, sizeof value);
}

static void *new_socket (void *ctx, int type)
{
    void *s = zmq_socket (ctx, type);
    if (s) {
        set_int (s, ZMQ_LINGER, 0);
        set_int (s, ZMQ_RCVTIMEO, 5000);
        set_int (s, ZMQ_SNDTIMEO, 5000);
    }
    return s;
}

/* Bind `a` to `endpoint`, connect `b` to the resulting endpoint. 0 on success. */
static int wire (void *a, void *b, const char *endpoint, char *why, size_t whylen)
{
    char last[512];
    size_t len = sizeof last;
    if (zmq_bind (a, endpoint) != 0) {
        snprintf (why, whylen, "bind %s: %s", endpoint, err_detail (zmq_errno ()));
        return -1;
    }
    if (zmq_getsockopt (a, ZMQ_LAST_ENDPOINT, last, &len) != 0) {
        snprintf (why, whylen, "ZMQ_LAST_ENDPOINT: %s", err_detail (zmq_errno ()));
        return -1;
    }
    if (zmq_connect (b, last) != 0) {
        snprintf (why, whylen, "connect %s: %s", last, err_detail (zmq_errno ()));
        return -1;
    }
    snprintf (why, whylen, "%s", last);
    return 0;
}

static int send_recv (void *from, void *to, const char *text, char *why, size_t whylen)
{
    char buf[64];
    const int n = (int) strlen (text);
    if (zmq_send (from, text, n, 0) != n) {
        snprintf (why, whylen, "send: %s", err_detail (zmq_errno ()));
        return -1;
    }
    const int got = zmq_recv (to, buf, sizeof buf, 0);
    if (got != n || memcmp (buf, text, n) != 0) {
        snprintf (why, whylen, "recv: got %d, %s", got,
                  got < 0 ? err_detail (zmq_errno ()) : "wrong payload");
        return -1;
    }
    return 0;
}

/* PUSH/PULL round trip over `endpoint` (a bind address, may use wildcards). */
static int push_pull (void *ctx, const char *endpoint, char *why, size_t whylen)
{
    void *pull = new_socket (ctx, ZMQ_PULL);
    void *push = new_socket (ctx, ZMQ_PUSH);
    int rc = -1;
    char where[512];
    if (!pull || !push)
        snprintf (why, whylen, "zmq_socket: %s", err_detail (zmq_errno ()));
    else if (wire (pull, push, endpoint, where, sizeof where) == 0
             && send_recv (push, pull, "push-pull", why, whylen) == 0) {
        snprintf (why, whylen, "%s", where);
        rc = 0;
    } else if (!*why)
        snprintf (why, whylen, "%s", where);
    if (push)
        zmq_close (push);
    if (pull)
        zmq_close (pull);
    return rc;
}

/* REQ/REP round trip (request and reply) over `endpoint`. */
static int req_rep (void *ctx, const char *endpoint, char *why, size_t whylen)
{
    void *rep = new_socket (ctx, ZMQ_REP);
    void *req = new_socket (ctx, ZMQ_REQ);
    int rc = -1;
    char where[512];
    if (!rep || !req)
        snprintf (why, whylen, "zmq_socket: %s", err_detail (zmq_errno ()));
    else if (wire (rep, req, endpoint, where, sizeof where) == 0
             && send_recv (req, rep, "request", why, whylen) == 0
             && send_recv (rep, req, "reply", why, whylen) == 0) {
        snprintf (why, whylen, "%s", where);
        rc = 0;
    } else if (!*why)
        snprintf (why, whylen, "%s", where);
    if (req)
        zmq_close (req);
    if (rep)
        zmq_close (rep);
    return rc;
}

/* CURVE-encrypted PUSH/PULL over tcp: exercises tweetnacl and its Windows
   random source (CryptGenRandom, advapi32). */
static int curve_push_pull (void *ctx, char *why, size_t whylen)
{
    char server_pub[41], server_sec[41], client_pub[41], client_sec[41], where[512];
    int rc = -1;
    if (zmq_curve_keypair (server_pub, server_sec) != 0
        || zmq_curve_keypair (client_pub, client_sec) != 0) {
        snprintf (why, whylen, "zmq_curve_keypair: %s", err_detail (zmq_errno ()));
        return -1;
    }
    void *pull = new_socket (ctx, ZMQ_PULL);
    void *push = new_socket (ctx, ZMQ_PUSH);
    set_int (pull, ZMQ_CURVE_SERVER, 1);
    zmq_setsockopt (pull, ZMQ_CURVE_SECRETKEY, server_sec, 40);
    zmq_setsockopt (push, ZMQ_CURVE_SERVERKEY, server_pub, 40);
    zmq_setsockopt (push, ZMQ_CURVE_PUBLICKEY, client_pub, 40);
    zmq_setsockopt (push, ZMQ_CURVE_SECRETKEY, client_sec, 40);
    if (wire (pull, push, "tcp://127.0.0.1:*", where, sizeof where) == 0
        && send_recv (push, pull, "curve", why, whylen) == 0) {
        snprintf (why, whylen, "%s", where);
        rc = 0;
    } else if (!*why)
        snprintf (why, whylen, "%s", where);
    zmq_close (push);
    zmq_close (pull);
    return rc;
}

static void temp_dir (char *out, size_t outlen)
{
#ifdef _WIN32
    char buf[MAX_PATH + 1];
    DWORD n = GetTempPathA (sizeof buf, buf);
    if (n == 0 || n > sizeof buf)
        snprintf (buf, sizeof buf, "C:\\");
    /* GetTempPath ends with a backslash: drop it. */
    n = (DWORD) strlen (buf);
    if (n > 3 && (buf[n - 1] == '\\' || buf[n - 1] == '/'))
        buf[n - 1] = '\0';
    snprintf (out, outlen, "%s", buf);
#else
    const char *t = getenv ("TMPDIR");
    snprintf (out, outlen, "%s", t && *t ? t : "/tmp");
#endif
}

int main (void)
{
    char why[1024], endpoint[1024], tmp[600];
    int major, minor, patch, i, rc;

    zmq_version (&major, &minor, &patch);
    printf ("libzmq %d.%d.%d, zmq_has: ipc=%d curve=%d tipc=%d\n", major, minor, patch,
            zmq_has ("ipc"), zmq_has ("curve"), zmq_has ("tipc"));

    /* 1. capabilities */
    check (zmq_has ("ipc") == 1, "zmq_has(\"ipc\") == 1 (ipc compiled in)", NULL);
    check (zmq_has ("curve") == 1, "zmq_has(\"curve\") == 1", NULL);

    /* 2. contexts: every context/reaper/io thread/socket builds a signaler pair. */
    {
        int ok = 1;
        why[0] = '\0';
        for (i = 0; i < 5 && ok; i++) {
            void *ctx = zmq_ctx_new ();
            void *s = ctx ? zmq_socket (ctx, ZMQ_PAIR) : NULL;
            if (!ctx || !s) {
                snprintf (why, sizeof why, "round %d: %s", i, err_detail (zmq_errno ()));
                ok = 0;
            }
            if (s)
                zmq_close (s);
            if (ctx && zmq_ctx_term (ctx) != 0) {
                snprintf (why, sizeof why, "round %d: zmq_ctx_term: %s", i,
                          err_detail (zmq_errno ()));
                ok = 0;
            }
        }
        check (ok, "5 x zmq_ctx_new + zmq_socket + zmq_ctx_term", why);
    }

    void *ctx = zmq_ctx_new ();
    check (ctx != NULL, "zmq_ctx_new", ctx ? NULL : err_detail (zmq_errno ()));
    if (!ctx)
        return 1;

    /* 3. tcp and inproc round trips */
    why[0] = '\0';
    check (push_pull (ctx, "tcp://127.0.0.1:*", why, sizeof why) == 0, "PUSH/PULL over tcp", why);
    why[0] = '\0';
    check (req_rep (ctx, "tcp://127.0.0.1:*", why, sizeof why) == 0, "REQ/REP over tcp", why);
    why[0] = '\0';
    check (push_pull (ctx, "inproc://smoke-pp", why, sizeof why) == 0, "PUSH/PULL over inproc",
           why);
    why[0] = '\0';
    check (req_rep (ctx, "inproc://smoke-rr", why, sizeof why) == 0, "REQ/REP over inproc", why);

    why[0] = '\0';
    check (curve_push_pull (ctx, why, sizeof why) == 0, "CURVE PUSH/PULL over tcp", why);

    /* 4. ipc to a named temp path: works (AF_UNIX) or fails cleanly. */
    temp_dir (tmp, sizeof tmp);
    snprintf (endpoint, sizeof endpoint, "ipc://%s" SEP "zmqipc-smoke-%d.sock", tmp, getpid_ ());
    {
        void *pull = new_socket (ctx, ZMQ_PULL);
        errno = 0;
        rc = zmq_bind (pull, endpoint);
        const int err = zmq_errno ();
        if (rc == 0) {
            printf ("info ipc bind %s works (AF_UNIX available)\n", endpoint);
            void *push = new_socket (ctx, ZMQ_PUSH);
            why[0] = '\0';
            rc = zmq_connect (push, endpoint);
            if (rc != 0)
                snprintf (why, sizeof why, "connect: %s", err_detail (zmq_errno ()));
            check (rc == 0 && send_recv (push, pull, "over-ipc", why, sizeof why) == 0,
                   "PUSH/PULL over ipc (named path)", why);
            zmq_close (push);
        } else {
            snprintf (why, sizeof why, "%s -> %s", endpoint, err_detail (err));
            check (clean_error (err), "ipc bind (named path) failed cleanly", why);
        }
        zmq_close (pull);
    }

    /* 5. ipc wildcard bind: libzmq makes a temp directory for it. */
    {
        void *pull = new_socket (ctx, ZMQ_PULL);
        rc = zmq_bind (pull, "ipc://*");
        const int err = zmq_errno ();
        if (rc == 0) {
            char last[512];
            size_t len = sizeof last;
            zmq_getsockopt (pull, ZMQ_LAST_ENDPOINT, last, &len);
            check (strncmp (last, "ipc://", 6) == 0 && strlen (last) > 7,
                   "ipc bind ipc://* works", last);
        } else {
            check (clean_error (err), "ipc bind ipc://* failed cleanly", err_detail (err));
        }
        zmq_close (pull);
    }

    /* 6. ipc connect (asynchronous): must not crash if AF_UNIX is missing. */
    {
        void *push = new_socket (ctx, ZMQ_PUSH);
        set_int (push, ZMQ_RECONNECT_IVL, 50);
        snprintf (endpoint, sizeof endpoint, "ipc://%s" SEP "zmqipc-smoke-%d-nobody.sock", tmp,
                  getpid_ ());
        rc = zmq_connect (push, endpoint);
        const int err = zmq_errno ();
        /* Let the I/O thread try (and retry) the connection a few times. */
        zmq_pollitem_t none[1];
        zmq_poll (none, 0, 300);
        snprintf (why, sizeof why, "zmq_connect -> %d%s%s", rc, rc ? ", " : "",
                  rc ? err_detail (err) : "");
        check (rc == 0 || clean_error (err), "ipc connect to a missing peer: no crash", why);
        zmq_close (push);
    }

    /* 7. ipc path too long for sun_path (107 bytes + NUL). */
    {
        char longpath[200];
        memset (longpath, 'x', 120);
        longpath[120] = '\0';
        snprintf (endpoint, sizeof endpoint, "ipc://%s" SEP "%s", tmp, longpath);
        void *s = new_socket (ctx, ZMQ_PULL);
        rc = zmq_bind (s, endpoint);
        int err = zmq_errno ();
        check (rc == -1 && err == ENAMETOOLONG, "ipc bind with a >107-byte path: ENAMETOOLONG",
               rc == -1 ? err_detail (err) : "bind succeeded");
        rc = zmq_connect (s, endpoint);
        err = zmq_errno ();
        check (rc == -1 && err == ENAMETOOLONG,
               "ipc connect with a >107-byte path: ENAMETOOLONG",
               rc == -1 ? err_detail (err) : "connect succeeded");
        zmq_close (s);
    }

    /* 8. ZMQ_IPC_FILTER_PID: no peer credentials on Windows. */
    {
        void *s = new_socket (ctx, ZMQ_PULL);
        int pid = getpid_ ();
        rc = zmq_setsockopt (s, ZMQ_IPC_FILTER_PID, &pid, sizeof pid);
        const int err = zmq_errno ();
#ifdef _WIN32
        check (rc == -1 && err == EINVAL, "setsockopt(ZMQ_IPC_FILTER_PID) is EINVAL on Windows",
               rc == -1 ? err_detail (err) : "accepted");
#else
        printf ("info setsockopt(ZMQ_IPC_FILTER_PID) -> %d%s%s (not Windows)\n", rc,
                rc ? ", " : "", rc ? err_detail (err) : "");
#endif
        zmq_close (s);
    }

    /* 9. after all the ipc failures the context and tcp still work. */
    why[0] = '\0';
    check (push_pull (ctx, "tcp://127.0.0.1:*", why, sizeof why) == 0,
           "PUSH/PULL over tcp after the ipc checks", why);
    why[0] = '\0';
    check (req_rep (ctx, "tcp://127.0.0.1:*", why, sizeof why) == 0,
           "REQ/REP over tcp after the ipc checks", why);

    /* 10. the context terminates (a hang is caught by the caller's timeout). */
    rc = zmq_ctx_term (ctx);
    check (rc == 0, "zmq_ctx_term returns", rc == 0 ? NULL : err_detail (zmq_errno ()));

    printf ("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
