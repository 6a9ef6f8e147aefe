/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * net.c: listening sockets and the options every client socket gets.
 *
 * Listening: a TCP port on the configured address (IPv4, IPv6 or both),
 * a unix socket path (or abstract name starting with '@'), or a listening
 * fd the host created. Accepted sockets go to the link handshake.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "link.h"
#include "net.h"
#include "server.h"

#define KEEPALIVE_IDLE_S       600
#define MAX_ACCEPTS_PER_WAKEUP 16

struct Listener {
    SpiceServer *server;
    int fd;
    bool owned; /* false for the host's listen fd */
    bool tls;   /* the TLS port */
    EventLoopWatch *watch;
    char *description;
};

bool net_setup_client_socket(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        g_warning("cannot make socket %d non-blocking: %s", fd, g_strerror(errno));
        return false;
    }
    int fdflags = fcntl(fd, F_GETFD);
    if (fdflags >= 0) {
        fcntl(fd, F_SETFD, fdflags | FD_CLOEXEC);
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
        (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
        int on = 1;
        int idle = KEEPALIVE_IDLE_S;
        /* Failures here only cost latency or dead-peer detection. */
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0) {
            g_debug("TCP_NODELAY on %d: %s", fd, g_strerror(errno));
        }
        if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) == 0) {
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
        }
    }
    return true;
}

static char *describe_addr(const struct sockaddr *sa, socklen_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    switch (sa->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        return g_strdup_printf("%s:%u", host, ntohs(in->sin_port));
    }
    case AF_INET6: {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        return g_strdup_printf("[%s]:%u", host, ntohs(in6->sin6_port));
    }
    case AF_UNIX: {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t max = len > offsetof(struct sockaddr_un, sun_path)
                         ? len - offsetof(struct sockaddr_un, sun_path)
                         : 0;
        if (max > 0 && un->sun_path[0] == '\0') {
            return g_strdup_printf("unix:@%.*s", (int)max - 1, un->sun_path + 1);
        }
        return g_strdup_printf("unix:%.*s", (int)strnlen(un->sun_path, max), un->sun_path);
    }
    default:
        return g_strdup_printf("family %d", sa->sa_family);
    }
}

char *net_describe_peer(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
        return g_strdup("(unknown peer)");
    }
    return describe_addr((struct sockaddr *)&ss, len);
}

void net_fill_event_info(int fd, SpiceChannelEventInfo *info)
{
    info->flags |= SPICE_CHANNEL_EVENT_FLAG_ADDR_EXT;
    info->llen_ext = sizeof(info->laddr_ext);
    if (getsockname(fd, (struct sockaddr *)&info->laddr_ext, &info->llen_ext) < 0) {
        info->llen_ext = 0;
    }
    info->plen_ext = sizeof(info->paddr_ext);
    if (getpeername(fd, (struct sockaddr *)&info->paddr_ext, &info->plen_ext) < 0) {
        info->plen_ext = 0;
    }
    /* The old fields hold what fits in a struct sockaddr (IPv4). */
    info->llen = MIN(info->llen_ext, (socklen_t)sizeof(info->laddr));
    memcpy(&info->laddr, &info->laddr_ext, info->llen);
    info->plen = MIN(info->plen_ext, (socklen_t)sizeof(info->paddr));
    memcpy(&info->paddr, &info->paddr_ext, info->plen);
}

static void listener_accept(int fd, int events, void *opaque)
{
    Listener *l = opaque;
    (void)events;
    for (int i = 0; i < MAX_ACCEPTS_PER_WAKEUP; i++) {
        int client = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                g_message("accept on %s failed: %s", l->description, g_strerror(errno));
            }
            return;
        }
        if (!net_setup_client_socket(client)) {
            close(client);
            continue;
        }
        link_start(l->server, client, false, l->tls);
    }
}

static Listener *listener_add(SpiceServer *s, int fd, bool owned, char *description)
{
    Listener *l = g_new0(Listener, 1);
    l->server = s;
    l->fd = fd;
    l->owned = owned;
    l->description = description;
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) {
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }
    l->watch = event_loop_watch_new(s->loop, fd, SPICE_WATCH_EVENT_READ, listener_accept, l);
    if (!l->watch) {
        g_warning("cannot watch the listening socket %s", description);
        if (owned) {
            close(fd);
        }
        g_free(l->description);
        g_free(l);
        return NULL;
    }
    g_ptr_array_add(s->listeners, l);
    return l;
}

static void listener_free(Listener *l)
{
    event_loop_watch_free(l->watch);
    if (l->owned) {
        close(l->fd);
    }
    g_free(l->description);
    g_free(l);
}

static int listen_unix(const char *path)
{
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(un.sun_path)) {
        g_warning("unix socket path '%s' is empty or longer than %zu bytes", path,
                  sizeof(un.sun_path) - 1);
        return -1;
    }
    memcpy(un.sun_path, path, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (path[0] == '@') {
        un.sun_path[0] = '\0'; /* abstract name */
    } else {
        /* Replace a stale socket from an earlier run, never another file. */
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
            unlink(path);
        }
        len += 1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        g_warning("socket(AF_UNIX): %s", g_strerror(errno));
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&un, len) < 0 || listen(fd, SOMAXCONN) < 0) {
        g_warning("cannot listen on unix socket %s: %s", path, g_strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int listen_tcp(const char *addr, int port, int flags, char **description)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
    if (flags & SPICE_ADDR_FLAG_IPV4_ONLY) {
        hints.ai_family = AF_INET;
    } else if (flags & SPICE_ADDR_FLAG_IPV6_ONLY) {
        hints.ai_family = AF_INET6;
    } else {
        hints.ai_family = AF_UNSPEC;
    }
    char port_str[16];
    g_snprintf(port_str, sizeof(port_str), "%d", port);
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(addr && *addr ? addr : NULL, port_str, &hints, &res);
    if (rc != 0) {
        g_warning("cannot resolve listening address '%s': %s", addr ? addr : "", gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    int last_errno = 0;
    /* Prefer IPv6 first when no address is given: "::" with V6ONLY off
     * takes IPv4 clients too. */
    for (struct addrinfo *e = res; e; e = e->ai_next) {
        fd = socket(e->ai_family, e->ai_socktype | SOCK_CLOEXEC, e->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int on = 1, off = 0;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
        if (e->ai_family == AF_INET6) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
        }
        if (bind(fd, e->ai_addr, e->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
            *description = describe_addr(e->ai_addr, e->ai_addrlen);
            break;
        }
        last_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        g_warning("cannot listen on %s port %d: %s", addr && *addr ? addr : "(any)", port,
                  g_strerror(last_errno));
    }
    return fd;
}

bool net_start_listening(SpiceServer *s)
{
    ServerConfig *c = &s->config;
    if (c->addr_flags & SPICE_ADDR_FLAG_UNIX_ONLY) {
        if (!c->addr) {
            g_warning("unix socket requested without a path");
            return false;
        }
        int fd = listen_unix(c->addr);
        if (fd < 0 || !listener_add(s, fd, true, g_strdup_printf("unix:%s", c->addr))) {
            return false;
        }
    } else {
        if (c->port >= 0) {
            char *description = NULL;
            int fd = listen_tcp(c->addr, c->port, c->addr_flags, &description);
            if (fd < 0 || !listener_add(s, fd, true, description)) {
                return false;
            }
        }
        if (c->tls_port > 0 && s->tls_ctx) {
            char *description = NULL;
            int fd = listen_tcp(c->addr, c->tls_port, c->addr_flags, &description);
            Listener *l = fd < 0 ? NULL : listener_add(s, fd, true, description);
            if (!l) {
                return false;
            }
            l->tls = true;
        }
    }
    if (c->listen_fd >= 0) {
        if (!listener_add(s, c->listen_fd, false, g_strdup_printf("fd %d", c->listen_fd))) {
            return false;
        }
    }
    for (guint i = 0; i < s->listeners->len; i++) {
        Listener *l = g_ptr_array_index(s->listeners, i);
        g_debug("listening on %s%s", l->description, l->tls ? " (TLS)" : "");
    }
    return true;
}

void net_stop_listening(SpiceServer *s)
{
    while (s->listeners->len > 0) {
        listener_free(g_ptr_array_steal_index(s->listeners, s->listeners->len - 1));
    }
}
