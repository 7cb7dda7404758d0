/* zmqipc: libzmq 4.3.4 platform configuration for macOS (x86_64 and arm64).
   Written for our build in place of autotools/CMake detection. */
#ifndef ZMQIPC_PLATFORM_HPP
#define ZMQIPC_PLATFORM_HPP

#define ZMQ_HAVE_OSX 1
#define ZMQ_HAVE_IPC 1

#define ZMQ_IOTHREAD_POLLER_USE_KQUEUE 1
#define ZMQ_POLL_BASED_ON_POLL 1
#define ZMQ_USE_CV_IMPL_STL11 1
/* Apple silicon has 128-byte cache lines; the larger value is safe on x86. */
#define ZMQ_CACHELINE_SIZE 128

#define ZMQ_HAVE_CURVE 1
#define ZMQ_USE_TWEETNACL 1

#define ZMQ_HAVE_LOCAL_PEERCRED 1
#define ZMQ_HAVE_SO_KEEPALIVE 1
#define ZMQ_HAVE_TCP_KEEPALIVE 1
#define ZMQ_HAVE_TCP_KEEPCNT 1
#define ZMQ_HAVE_TCP_KEEPINTVL 1
#define ZMQ_HAVE_IFADDRS 1
#define ZMQ_HAVE_UIO 1
#define ZMQ_HAVE_ATOMIC_INTRINSICS 1
#define ZMQ_HAVE_PTHREAD_SETNAME_1 1
#define ZMQ_HAVE_STRLCPY 1

#define HAVE_CLOCK_GETTIME 1
#define HAVE_FORK 1
/* A wildcard ipc endpoint gets a private temp directory, removed on close. */
#define HAVE_MKDTEMP 1
#define HAVE_IF_NAMETOINDEX 1
#define HAVE_POSIX_MEMALIGN 1
#define HAVE_STRNLEN 1

/* zmqipc: SO_SNDBUF/SO_RCVBUF requested for ipc sockets whose ZMQ_SNDBUF/RCVBUF
   are not set (patch 0030); chosen by measurement, see the README. */
#define ZMQIPC_IPC_BUFFER_DEFAULT 524288

#endif
