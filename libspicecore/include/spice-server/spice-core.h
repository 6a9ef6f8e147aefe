/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spice-core.h: the base of every interface and the "core" interface, the
 * event loop the host (QEMU, our demo host) lends to the server.
 *
 * Every host-provided interface is a struct whose first member is a
 * SpiceBaseInterface naming its type and version; every instance starts
 * with a SpiceBaseInstance pointing at that interface. The server accepts
 * an interface when its major version equals ours and its minor version is
 * not newer than ours.
 */
#ifndef SPICE_CORE_H_
#define SPICE_CORE_H_

#if !defined(SPICE_H_INSIDE) && !defined(SPICE_SERVER_INTERNAL)
#error "include <spice.h>, not this header"
#endif

#include <stdint.h>
#include <sys/socket.h>
#include <spice/qxl_dev.h>
#include <spice/vd_agent.h>
#include <spice/macros.h>

#ifdef SPICE_SERVER_INTERNAL
/* The library itself touches deprecated members (it fills them). */
#undef SPICE_GNUC_DEPRECATED
#define SPICE_GNUC_DEPRECATED
#endif

typedef struct SpiceBaseInterface SpiceBaseInterface;
typedef struct SpiceBaseInstance SpiceBaseInstance;

/* Identifies an interface: its type string and version. */
struct SpiceBaseInterface {
    const char *type;
    const char *description;
    uint32_t major_version;
    uint32_t minor_version;
};

/* First member of every interface instance the host registers. */
struct SpiceBaseInstance {
    const SpiceBaseInterface *sif;
};

#define SPICE_INTERFACE_CORE       "core"
#define SPICE_INTERFACE_CORE_MAJOR 1
#define SPICE_INTERFACE_CORE_MINOR 3
typedef struct SpiceCoreInterface SpiceCoreInterface;

/* Watch event bits for watch_add() and watch_update_mask(). */
#define SPICE_WATCH_EVENT_READ  (1 << 0)
#define SPICE_WATCH_EVENT_WRITE (1 << 1)

/* Events reported through SpiceCoreInterface.channel_event(). */
#define SPICE_CHANNEL_EVENT_CONNECTED    1
#define SPICE_CHANNEL_EVENT_INITIALIZED  2
#define SPICE_CHANNEL_EVENT_DISCONNECTED 3

/* SpiceChannelEventInfo.flags */
#define SPICE_CHANNEL_EVENT_FLAG_TLS      (1 << 0)
#define SPICE_CHANNEL_EVENT_FLAG_ADDR_EXT (1 << 1)

typedef struct SpiceWatch SpiceWatch;
typedef void (*SpiceWatchFunc)(int fd, int event, void *opaque);

typedef struct SpiceTimer SpiceTimer;
typedef void (*SpiceTimerFunc)(void *opaque);

/*
 * What the server tells the host about one channel connection. The short
 * sockaddr members cannot hold IPv6 addresses; they are still filled for
 * old hosts. Hosts read laddr_ext/paddr_ext when FLAG_ADDR_EXT is set,
 * which this server always does.
 */
typedef struct SpiceChannelEventInfo {
    int connection_id;
    int type;
    int id;
    int flags;
    struct sockaddr laddr SPICE_GNUC_DEPRECATED;
    struct sockaddr paddr SPICE_GNUC_DEPRECATED;
    socklen_t llen SPICE_GNUC_DEPRECATED;
    socklen_t plen SPICE_GNUC_DEPRECATED;
    struct sockaddr_storage laddr_ext;
    struct sockaddr_storage paddr_ext;
    socklen_t llen_ext, plen_ext;
} SpiceChannelEventInfo;

/*
 * The host's event loop. Timers are one-shot: timer_start() arms a timer
 * to fire once after ms milliseconds, re-arming an armed timer moves it.
 * Watches call func(fd, event, opaque) while fd is ready for the events in
 * event_mask. channel_event() may be called from any server thread.
 */
struct SpiceCoreInterface {
    SpiceBaseInterface base;

    SpiceTimer *(*timer_add)(SpiceTimerFunc func, void *opaque);
    void (*timer_start)(SpiceTimer *timer, uint32_t ms);
    void (*timer_cancel)(SpiceTimer *timer);
    void (*timer_remove)(SpiceTimer *timer);

    SpiceWatch *(*watch_add)(int fd, int event_mask, SpiceWatchFunc func, void *opaque);
    void (*watch_update_mask)(SpiceWatch *watch, int event_mask);
    void (*watch_remove)(SpiceWatch *watch);

    void (*channel_event)(int event, SpiceChannelEventInfo *info);
};

#endif /* SPICE_CORE_H_ */
