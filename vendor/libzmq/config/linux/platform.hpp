/* zmqipc: libzmq 4.3.4 platform configuration for Linux (glibc and musl).
   Written for our build in place of autotools/CMake detection. Only features
   present on every manylinux2014+/musllinux target are switched on. */
#ifndef ZMQIPC_PLATFORM_HPP
#define ZMQIPC_PLATFORM_HPP

#define ZMQ_HAVE_LINUX 1
#define ZMQ_HAVE_IPC 1

#define ZMQ_IOTHREAD_POLLER_USE_EPOLL 1
#define ZMQ_IOTHREAD_POLLER_USE_EPOLL_CLOEXEC 1
#define ZMQ_POLL_BASED_ON_POLL 1
#define ZMQ_USE_CV_IMPL_STL11 1
#define ZMQ_CACHELINE_SIZE 64

#define ZMQ_HAVE_CURVE 1
#define ZMQ_USE_TWEETNACL 1

#define ZMQ_HAVE_EVENTFD 1
#define ZMQ_HAVE_EVENTFD_CLOEXEC 1
#define ZMQ_HAVE_SOCK_CLOEXEC 1
#define ZMQ_HAVE_O_CLOEXEC 1
#define ZMQ_HAVE_SO_PEERCRED 1
#define ZMQ_HAVE_SO_KEEPALIVE 1
#define ZMQ_HAVE_TCP_KEEPCNT 1
#define ZMQ_HAVE_TCP_KEEPIDLE 1
#define ZMQ_HAVE_TCP_KEEPINTVL 1
#define ZMQ_HAVE_SO_PRIORITY 1
#define ZMQ_HAVE_SO_BINDTODEVICE 1
#define ZMQ_HAVE_IFADDRS 1
#define ZMQ_HAVE_UIO 1
#define ZMQ_HAVE_ATOMIC_INTRINSICS 1
#define ZMQ_HAVE_PTHREAD_SETNAME_2 1
#define ZMQ_HAVE_PTHREAD_SET_AFFINITY 1

#define HAVE_ACCEPT4 1
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
