/* zmqipc: libzmq 4.3.4 platform configuration for Windows (MSVC and mingw-w64).
   ipc:// is on: AF_UNIX for the user-facing transport (Windows 10 1803+), the
   I/O threads poll with epoll via the bundled wepoll, and our patch keeps the
   internal signaler on TCP loopback (see patches/0002). */
#ifndef ZMQIPC_PLATFORM_HPP
#define ZMQIPC_PLATFORM_HPP

#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0A00 /* AF_UNIX needs the Windows 10 SDK declarations */
#endif

/* libzmq is linked into the extension, never a DLL: no dllimport/dllexport.
   setup.py passes -DZMQ_STATIC too; this keeps the config self-contained. */
#ifndef ZMQ_STATIC
#define ZMQ_STATIC 1
#endif

#define ZMQ_HAVE_WINDOWS 1
#define ZMQ_HAVE_IPC 1

#define ZMQ_IOTHREAD_POLLER_USE_EPOLL 1
#define ZMQ_POLL_BASED_ON_SELECT 1
#define ZMQ_USE_CV_IMPL_WIN32API 1
#define ZMQ_CACHELINE_SIZE 64

#define ZMQ_HAVE_CURVE 1
#define ZMQ_USE_TWEETNACL 1

#define ZMQ_HAVE_SO_KEEPALIVE 1
/* compat.hpp's own strnlen returns i + 1 for a terminated string: use the CRT's. */
#define HAVE_STRNLEN 1

#endif
