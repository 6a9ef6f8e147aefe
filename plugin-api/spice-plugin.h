/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spice-plugin.h: the channel plugin ABI of libspicecore.
 *
 * A plugin is one shared object, libspice-plugin-NAME.so, that exports
 * exactly one function, spice_plugin_NAME_query(). That function is pure: it
 * returns a pointer to a static SpicePluginDescriptor and does nothing
 * else (it may be called in a throw-away process by spice-plugin-list).
 * Write it with SPICE_PLUGIN_DEFINE().
 *
 * The descriptor declares, as data, the channel classes the plugin provides
 * and the host interfaces ("keyboard", "qxl", ...) it serves. The server
 * calls init() with a table of host services; from then on the plugin
 * registers channel instances, receives client messages through its
 * channel operations and sends messages through the services. Plugins
 * never call each other: what one learns and others need travels through
 * the core as topics ("Topics" below, since 1.3).
 *
 * Where to look: SpicePluginDescriptor and SPICE_PLUGIN_DEFINE at the end;
 * SpiceChannelClass and SpiceChannelOps (channels); SpiceInterfaceClass
 * and the entry tables (host interfaces); "Topics"; SpiceHostServices,
 * each member with who may call it, from which thread, and since which
 * minor. docs/plugin-guide.md walks through a plugin; docs/plugin-abi.md
 * has the rules, every load-time message and the change log.
 *
 * Compatibility rules (see docs/plugin-abi.md):
 *  - magic must equal SPICE_PLUGIN_MAGIC;
 *  - abi_major must equal the server's SPICE_PLUGIN_ABI_MAJOR;
 *  - abi_minor must not be newer than the server's;
 *  - structs carry their own size or version; new members are only ever
 *    appended, so a plugin built for 1.N runs on a server providing 1.M,
 *    M >= N. Optional operations left NULL mean "not supported".
 *
 * Threads: every service acts on objects owned by one event loop. Objects
 * created without a loop belong to the host's thread (where init() runs and
 * where the host calls spice_server_* functions). A channel client moved to
 * a worker loop with channel_client_move() belongs to that loop's thread
 * from the moment its on_moved callback runs. Services marked "any thread"
 * may be called from anywhere.
 *
 * This header needs nothing but the C library and the public server
 * headers; a plugin links against nothing of ours.
 */
#ifndef SPICE_PLUGIN_H_
#define SPICE_PLUGIN_H_

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <spice.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "SPLG" read as a little-endian 32-bit number. */
#define SPICE_PLUGIN_MAGIC 0x474c5053u

/*
 * ABI version this header describes. Major changes break every plugin;
 * minor changes only append. History in docs/plugin-abi.md.
 */
#define SPICE_PLUGIN_ABI_MAJOR 1
#define SPICE_PLUGIN_ABI_MINOR 5

#if defined(__GNUC__)
#define SPICE_PLUGIN_EXPORT          __attribute__((visibility("default")))
#define SPICE_PLUGIN_PRINTF(fmt, va) __attribute__((format(printf, fmt, va)))
#else
#define SPICE_PLUGIN_EXPORT
#define SPICE_PLUGIN_PRINTF(fmt, va)
#endif

/* Opaque handles owned by the server. */
typedef struct SpicePlugin SpicePlugin;               /* one loaded plugin in one server */
typedef struct SpiceChannel SpiceChannel;             /* a registered channel (type, id) */
typedef struct SpiceChannelClient SpiceChannelClient; /* one client connected to a channel */
typedef struct SpiceClient SpiceClient;               /* one client session (main + others) */
typedef struct SpicePluginTimer SpicePluginTimer;
typedef struct SpicePluginWatch SpicePluginWatch;
typedef struct SpicePluginLoop SpicePluginLoop; /* an event loop in its own thread */

typedef enum {
    SPICE_PLUGIN_LOG_ERROR = 1,
    SPICE_PLUGIN_LOG_WARNING = 2,
    SPICE_PLUGIN_LOG_MESSAGE = 3,
    SPICE_PLUGIN_LOG_INFO = 4,
    SPICE_PLUGIN_LOG_DEBUG = 5,
} SpicePluginLogLevel;

/* ------------------------------------------------------------------------
 * Channel classes: what a plugin declares about a channel type.
 */

/* A capability bit the channel advertises, with a name for tools. */
typedef struct SpiceChannelCap {
    uint32_t cap;     /* capability number: bit cap % 32 of word cap / 32 */
    const char *name; /* e.g. "KEY_SCANCODE" */
} SpiceChannelCap;

/* SpiceChannelClass.flags */
enum {
    /* The core runs the SET_ACK / ACK_SYNC / ACK flow-control window on
     * every client of this channel and stops producing while it is full. */
    SPICE_CHANNEL_CLASS_HANDLE_ACKS = 1u << 0,
    /* Several instances (ids) of this type may be registered. */
    SPICE_CHANNEL_CLASS_MULTI_INSTANCE = 1u << 1,
};

typedef struct SpiceChannelOps SpiceChannelOps;

typedef struct SpiceChannelClass {
    uint32_t size; /* sizeof(SpiceChannelClass) the plugin was built with */
    uint8_t type;  /* SPICE_CHANNEL_MAIN, SPICE_CHANNEL_INPUTS, ... */
    uint8_t reserved0[3];
    const char *name; /* "main", "inputs", ...: used in logs and config */
    uint32_t flags;   /* SPICE_CHANNEL_CLASS_* */
    /* Largest message body a client may send; bigger ones disconnect. */
    uint32_t max_message_size;
    /* Capabilities advertised in the link reply: n_caps entries. */
    const SpiceChannelCap *caps;
    uint32_t n_caps;
    uint32_t reserved1;
    const SpiceChannelOps *ops;
    void *reserved[4];
} SpiceChannelClass;

/*
 * Channel operations: the core calls these on the thread that owns the
 * channel client. `version` says how many members the plugin knows;
 * members past that version are treated as NULL.
 */
#define SPICE_CHANNEL_OPS_VERSION 1

struct SpiceChannelOps {
    uint32_t version;

    /* --- version 1 --- */

    /* A client linked to this channel and was authenticated. Return 0 to
     * accept, a negative errno to refuse (the client is disconnected). */
    int (*connect)(SpiceChannel *channel, SpiceChannelClient *cc);
    /* The client is going away; cc is valid until this returns. Not called
     * for a client whose connect() failed. */
    void (*disconnect)(SpiceChannel *channel, SpiceChannelClient *cc);
    /* One complete client message of this channel's own range (>= 101, or
     * any type the core does not handle itself). body is valid only during
     * the call. Return 0, or a negative errno to disconnect the client (log
     * why first); -ENOTSUP means "unknown message type". */
    int (*handle_message)(SpiceChannelClient *cc, uint16_t type, const uint8_t *body,
                          uint32_t size);
    /* Optional: the client can take more messages (the ack window and the
     * outgoing queue have room). Only called after the plugin asked with
     * channel_client_want_produce(). */
    void (*produce)(SpiceChannelClient *cc);
    /* Optional: a PONG answered a PING sent with channel_client_ping();
     * rtt_us is the round trip measured by the core. */
    void (*pong)(SpiceChannelClient *cc, uint32_t ping_id, uint64_t rtt_us);
};

/* ------------------------------------------------------------------------
 * Interfaces served: routing of spice_server_add_interface() and of the
 * public entry points that act on an interface instance.
 */

/* Entry points of the "keyboard" interface (spice_server_kbd_leds). */
typedef struct SpiceKbdEntries {
    uint32_t size;
    int (*kbd_leds)(void *iface_data, SpiceKbdInstance *sin, int leds);
} SpiceKbdEntries;

/* Entry points of the "qxl" interface: one per spice_qxl_* call. */
typedef struct SpiceQxlEntries {
    uint32_t size;
    void (*wakeup)(void *iface_data);
    void (*oom)(void *iface_data);
    void (*start)(void *iface_data);
    void (*stop)(void *iface_data);
    void (*update_area)(void *iface_data, uint32_t surface_id, QXLRect *area, QXLRect *dirty_rects,
                        uint32_t num_dirty_rects, uint32_t clear_dirty_region);
    void (*add_memslot)(void *iface_data, QXLDevMemSlot *slot);
    void (*del_memslot)(void *iface_data, uint32_t slot_group_id, uint32_t slot_id);
    void (*reset_memslots)(void *iface_data);
    void (*destroy_surfaces)(void *iface_data);
    void (*destroy_primary_surface)(void *iface_data, uint32_t surface_id);
    void (*create_primary_surface)(void *iface_data, uint32_t surface_id,
                                   QXLDevSurfaceCreate *surface);
    void (*reset_image_cache)(void *iface_data);
    void (*reset_cursor)(void *iface_data);
    void (*destroy_surface_wait)(void *iface_data, uint32_t surface_id);
    void (*loadvm_commands)(void *iface_data, QXLCommandExt *ext, uint32_t count);
    void (*update_area_async)(void *iface_data, uint32_t surface_id, QXLRect *area,
                              uint32_t clear_dirty_region, uint64_t cookie);
    void (*add_memslot_async)(void *iface_data, QXLDevMemSlot *slot, uint64_t cookie);
    void (*destroy_surfaces_async)(void *iface_data, uint64_t cookie);
    void (*destroy_primary_surface_async)(void *iface_data, uint32_t surface_id, uint64_t cookie);
    void (*create_primary_surface_async)(void *iface_data, uint32_t surface_id,
                                         QXLDevSurfaceCreate *surface, uint64_t cookie);
    void (*destroy_surface_async)(void *iface_data, uint32_t surface_id, uint64_t cookie);
    void (*flush_surfaces_async)(void *iface_data, uint64_t cookie);
    void (*monitors_config_async)(void *iface_data, QXLPHYSICAL monitors_config, int group_id,
                                  uint64_t cookie);
    void (*driver_unload)(void *iface_data);
    void (*set_max_monitors)(void *iface_data, unsigned int max_monitors);
    void (*gl_scanout)(void *iface_data, int fd, uint32_t width, uint32_t height, uint32_t stride,
                       uint32_t format, int y_0_top);
    void (*gl_draw_async)(void *iface_data, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                          uint64_t cookie);
    void (*set_device_info)(void *iface_data, const char *device_address,
                            uint32_t device_display_id_start, uint32_t device_display_id_count);
} SpiceQxlEntries;

/* Entry points of the "playback" interface. */
typedef struct SpicePlaybackEntries {
    uint32_t size;
    void (*start)(void *iface_data);
    void (*stop)(void *iface_data);
    void (*get_buffer)(void *iface_data, uint32_t **samples, uint32_t *num_samples);
    void (*put_samples)(void *iface_data, uint32_t *samples);
    void (*set_volume)(void *iface_data, uint8_t nchannels, uint16_t *volume);
    void (*set_mute)(void *iface_data, uint8_t mute);
    uint32_t (*get_best_rate)(void *iface_data);
    void (*set_rate)(void *iface_data, uint32_t frequency);
} SpicePlaybackEntries;

/* Entry points of the "record" interface. */
typedef struct SpiceRecordEntries {
    uint32_t size;
    void (*start)(void *iface_data);
    void (*stop)(void *iface_data);
    uint32_t (*get_samples)(void *iface_data, uint32_t *samples, uint32_t bufsize);
    void (*set_volume)(void *iface_data, uint8_t nchannels, uint16_t *volume);
    void (*set_mute)(void *iface_data, uint8_t mute);
    uint32_t (*get_best_rate)(void *iface_data);
    void (*set_rate)(void *iface_data, uint32_t frequency);
} SpiceRecordEntries;

/* Entry points of the "char_device" interface. */
typedef struct SpiceCharDeviceEntries {
    uint32_t size;
    void (*wakeup)(void *iface_data);
    void (*port_event)(void *iface_data, uint8_t event);
} SpiceCharDeviceEntries;

/*
 * One interface type a plugin serves. For "char_device" the subtype
 * ("vdagent", "usbredir", "smartcard", "port") selects the plugin; it is
 * NULL for other types. For subtype "port" a class may also name the one
 * port it serves (portname, since 1.4): a port device goes to the plugin
 * that names its port, else to the plugin serving "port" without a name
 * (ours: libspice-plugin-port.so).
 */
typedef struct SpiceInterfaceClass {
    uint32_t size;
    uint32_t reserved0;
    const char *type;    /* SPICE_INTERFACE_KEYBOARD, SPICE_INTERFACE_QXL, ... */
    const char *subtype; /* char device subtype, or NULL */
    uint32_t major;      /* the interface major version the plugin implements */
    uint32_t minor;      /* the newest minor version it understands */
    /* The host added an instance. Store per-instance state in *iface_data.
     * Return 0, or a negative errno (log why) to refuse the instance. */
    int (*add)(SpicePlugin *plugin, SpiceBaseInstance *sin, void **iface_data);
    /* The host removes the instance. */
    void (*remove)(SpicePlugin *plugin, SpiceBaseInstance *sin, void *iface_data);
    /* SpiceKbdEntries, SpiceQxlEntries, ... matching `type`, or NULL. */
    const void *entries;
    /* --- since 1.4 --- */
    /* Subtype "port" only: the port name (SpiceCharDeviceInstance.portname)
     * this class serves, or NULL for every port no other plugin names.
     * The core reads it only from plugins built for 1.4 or later. */
    const char *portname;
    void *reserved[3];
} SpiceInterfaceClass;

/* ------------------------------------------------------------------------
 * Server events: notifications the core broadcasts to every plugin that
 * has a server_event callback. Always on the host's thread.
 */
typedef enum {
    /* The supported or current mouse mode changed (see mouse_mode_get). */
    SPICE_SERVER_EVENT_MOUSE_MODE_CHANGED = 1,
    /* A channel was registered or unregistered after start-up. */
    SPICE_SERVER_EVENT_CHANNEL_ADDED = 2,
    SPICE_SERVER_EVENT_CHANNEL_REMOVED = 3,
    /* spice_server_vm_start() / spice_server_vm_stop(). */
    SPICE_SERVER_EVENT_VM_START = 4,
    SPICE_SERVER_EVENT_VM_STOP = 5,
} SpiceServerEventType;

typedef struct SpiceServerEvent {
    uint32_t size;
    uint32_t type;         /* SpiceServerEventType */
    SpiceChannel *channel; /* CHANNEL_ADDED / CHANNEL_REMOVED */
    void *reserved[4];
} SpiceServerEvent;

/* A channel as listed to clients. */
typedef struct SpiceChannelId {
    uint8_t type;
    uint8_t id;
} SpiceChannelId;

/* Values readable with server_get_int(). */
typedef enum {
    SPICE_SERVER_INT_AGENT_MOUSE = 1,
    SPICE_SERVER_INT_AGENT_COPYPASTE = 2,
    SPICE_SERVER_INT_AGENT_FILE_XFER = 3,
    SPICE_SERVER_INT_IMAGE_COMPRESSION = 4, /* SpiceImageCompression */
    SPICE_SERVER_INT_JPEG_COMPRESSION = 5,  /* spice_wan_compression_t */
    SPICE_SERVER_INT_ZLIB_GLZ_COMPRESSION = 6,
    SPICE_SERVER_INT_STREAMING_VIDEO = 7, /* SPICE_STREAM_VIDEO_* */
    SPICE_SERVER_INT_PLAYBACK_COMPRESSION = 8,
    SPICE_SERVER_INT_VM_RUNNING = 9,
    SPICE_SERVER_INT_DISPLAY_CHANNELS = 10, /* registered display channels */
    SPICE_SERVER_INT_QXL_RAM_SIZE = 11,     /* hint for MAIN_INIT, bytes */
    /* since 1.5: the codecs video streams may use, 1 << SPICE_VIDEO_CODEC_TYPE_*
     * (spice_server_set_video_codecs' "spice" entries); a 1.4 core returns -1 */
    SPICE_SERVER_INT_VIDEO_CODECS = 12,
} SpiceServerInt;

/* ------------------------------------------------------------------------
 * Plugin events (since 1.2; new code uses topics, below): facts one
 * plugin publishes for the others, delivered by the core. Payloads are
 * flat structs (no pointers) that the core copies, so they may be
 * published from any thread; delivery is on the host's thread, in
 * publishing order, to every plugin except the publisher. Since 1.3 the
 * display plugin publishes topics and the core turns "spice.display",
 * "spice.primary" and "spice.cursor" into these events for plugins that
 * have plugin_event, and these events into those topics. The payload
 * structs below are also the payloads of those topics.
 */
typedef enum {
    /* A display (QXL instance) exists: SpiceDisplayInfo. */
    SPICE_PLUGIN_EVENT_DISPLAY_ADDED = 1,
    /* The display is gone: no payload. */
    SPICE_PLUGIN_EVENT_DISPLAY_REMOVED = 2,
    /* The display's primary surface was created or destroyed:
     * SpicePrimaryInfo (width 0 when destroyed). */
    SPICE_PLUGIN_EVENT_PRIMARY = 3,
    /* The guest changed the display's cursor: SpiceCursorEvent. */
    SPICE_PLUGIN_EVENT_CURSOR = 4,
} SpicePluginEventType;

typedef struct SpicePluginEvent {
    uint32_t size;       /* sizeof(SpicePluginEvent) */
    uint32_t type;       /* SpicePluginEventType */
    uint32_t display_id; /* the QXL instance id the event is about */
    uint32_t data_size;  /* bytes at data */
    const void *data;    /* payload; valid during delivery only */
} SpicePluginEvent;

typedef struct SpiceDisplayInfo {
    uint32_t size;
    uint32_t ram_size; /* the device's RAM size (MAIN_INIT hint), bytes */
    /* since 1.4: 1 when the device takes the client's monitors config
     * (QXLInterface.client_monitors_config said so); see
     * "spice.client-monitors-config" */
    uint32_t client_monitors_config;
} SpiceDisplayInfo;

typedef struct SpicePrimaryInfo {
    uint32_t size;
    uint32_t width; /* 0: no primary surface */
    uint32_t height;
    uint32_t format;       /* SPICE_SURFACE_FMT_* */
    uint32_t client_mouse; /* the surface allows client (absolute) mouse mode */
} SpicePrimaryInfo;

typedef enum {
    SPICE_CURSOR_EVENT_SET = 1,  /* position, visibility and (optional) shape */
    SPICE_CURSOR_EVENT_MOVE = 2, /* position */
    SPICE_CURSOR_EVENT_HIDE = 3,
    SPICE_CURSOR_EVENT_TRAIL = 4, /* trail length and frequency */
    SPICE_CURSOR_EVENT_RESET = 5, /* back to no cursor (guest reset) */
} SpiceCursorEventKind;

/* A cursor change; a shape travels inline after the struct. */
typedef struct SpiceCursorEvent {
    uint32_t size; /* sizeof(SpiceCursorEvent) */
    uint32_t kind; /* SpiceCursorEventKind */
    int16_t x;     /* SET, MOVE: hot-spot position */
    int16_t y;
    uint8_t visible;   /* SET */
    uint8_t has_shape; /* SET: shape fields and bytes follow */
    uint16_t trail_length;
    uint16_t trail_frequency;
    uint16_t shape_type; /* SPICE_CURSOR_TYPE_* */
    uint16_t width;
    uint16_t height;
    uint16_t hot_x;
    uint16_t hot_y;
    uint64_t unique;     /* the guest's id of this shape (for caching) */
    uint32_t shape_size; /* bytes of shape data after this struct */
    uint32_t reserved;
} SpiceCursorEvent;

/* ------------------------------------------------------------------------
 * Topics (since 1.3): facts and requests between plugins, through the core,
 * without the core knowing what they mean.
 *
 * A topic is a name ("spice.primary", "vendor.thing") with one value per
 * key: the display (QXL instance) id for a fact about one display, 0 for a
 * fact about the whole server. A payload is a flat struct (no pointers)
 * whose first member is `uint32_t size`: the sizeof of that struct as its
 * publisher was built. Bytes after the struct (a cursor shape) count in
 * the size given to topic_publish() but not in that member. A reader uses
 * only the members that lie within the payload's `size` member
 * (SPICE_PAYLOAD_HAS), so a payload grows by appending, like every struct
 * here.
 *
 * Two kinds of publishing:
 *  - a fact, SPICE_TOPIC_RETAIN: the core keeps it as the current value of
 *    (topic, key). topic_get() reads it; a new subscriber first receives
 *    every current value of its topic. Publishing NULL, 0 with RETAIN
 *    withdraws the value: subscribers receive (key, NULL, 0).
 *  - an event or a request, flags 0: delivered to the subscribers of the
 *    moment and not kept. A plugin offers a service by subscribing to a
 *    request topic; topic_publish() returns how many subscribers a request
 *    reached, so 0 means nobody serves it.
 *
 * Threads: topic_publish() and topic_get() from any thread. A callback
 * runs on the loop given to topic_subscribe() (NULL: the host thread),
 * never inside topic_publish(); what one thread publishes arrives at each
 * subscriber in the order published. topic_subscribe() from any thread;
 * topic_unsubscribe() from the thread of the subscription's loop, after
 * which its callback is not called again.
 *
 * Lifetime: the core copies every payload; the callback's payload is
 * valid during the call only. When a plugin is unloaded, its
 * subscriptions end and its retained values are withdrawn before its
 * deinit() runs; the handles stay valid for topic_unsubscribe() in
 * deinit(), and the core frees those not unsubscribed after it.
 * loop_free() ends the subscriptions made on that loop (with a warning:
 * unsubscribe first).
 *
 * When nobody publishes a topic, topic_get() returns -ENOENT and no
 * callback runs; each topic below says what its readers assume then.
 *
 * Errors: topic_publish() returns -EINVAL (and logs why) for a name that
 * is empty, longer than SPICE_TOPIC_NAME_MAX or not made of [a-z0-9._-],
 * a payload whose `size` member is below 4 or above the size given, an
 * event (flags 0) without a payload, or a payload above
 * SPICE_TOPIC_PAYLOAD_MAX bytes, and -EPERM for a topic only the core
 * publishes ("spice.mouse-mode"); topic_subscribe() returns NULL (and
 * logs) for a bad name or a NULL func.
 *
 * Names starting with "spice." are this project's (below); others use
 * their own prefix ("vendor.").
 */
#define SPICE_TOPIC_NAME_MAX    63
#define SPICE_TOPIC_PAYLOAD_MAX (16u * 1024u * 1024u)

/* topic_publish() flags */
enum {
    SPICE_TOPIC_RETAIN = 1u << 0, /* a fact: kept as the current value */
};

typedef struct SpiceTopicSubscription SpiceTopicSubscription;

/* payload NULL and size 0: the value of key was withdrawn. */
typedef void (*SpiceTopicFunc)(SpicePlugin *plugin, const char *topic, uint32_t key,
                               const void *payload, uint32_t size, void *opaque);

/* Whether payload p of type T holds member m (p's size member covers it). */
#define SPICE_PAYLOAD_HAS(p, T, m) ((p)->size >= offsetof(T, m) + sizeof(((T *)0)->m))

/*
 * The topics of our plugins. Each says who publishes it, its key and
 * payload, and what readers assume when nobody publishes it.
 *
 * "spice.display" (retained; key: display id; SpiceDisplayInfo)
 *   Published by the display plugin when a QXL instance is added,
 *   withdrawn when it is removed. Read by the core (the first display's
 *   RAM size becomes MAIN_INIT's hint) and the cursor plugin (one cursor
 *   channel per display). Nobody: there are no displays.
 */
#define SPICE_TOPIC_DISPLAY "spice.display"
/*
 * "spice.primary" (retained; key: display id; SpicePrimaryInfo)
 *   Published by the display plugin whenever the display's primary
 *   surface is created (width > 0) or destroyed (width 0), withdrawn with
 *   the display. Read by the core (client mouse mode needs a primary that
 *   allows it), the inputs plugin (the tablet's logical size) and the
 *   cursor plugin (a new primary ends a cursor reset). Nobody: no
 *   primary surface.
 */
#define SPICE_TOPIC_PRIMARY "spice.primary"
/*
 * "spice.cursor" (events; key: display id; SpiceCursorEvent, then the
 *   shape's bytes) Published by the display plugin for every guest cursor
 *   command and for every cursor reset. Read by the cursor plugin.
 *   Nobody: the display has no cursor.
 */
#define SPICE_TOPIC_CURSOR "spice.cursor"
/*
 * "spice.mouse-mode" (retained; key 0; SpiceMouseModeInfo)
 *   Published by the core: the mouse mode it reports to clients and the
 *   modes allowed now, whenever either changes (and once at start-up).
 *   Read by the main plugin (MOUSE_MODE to the client) and the cursor
 *   plugin (in client mode the guest's cursor moves are not sent). The
 *   core is always there, so there is always a value.
 */
#define SPICE_TOPIC_MOUSE_MODE "spice.mouse-mode"

typedef struct SpiceMouseModeInfo {
    uint32_t size;
    uint32_t current;   /* SPICE_MOUSE_MODE_SERVER or _CLIENT */
    uint32_t supported; /* mask of SPICE_MOUSE_MODE_* allowed now */
} SpiceMouseModeInfo;

/*
 * The multimedia clock. Every plugin reads the same clock, mm_time() (a
 * monotonic millisecond count), and stamps audio frames and video stream
 * frames with it; a client plays what it gets at stamp + its latency. Who
 * tells the client where that clock stands changes with the audio:
 *
 * "spice.mm-time" (retained; key 0; SpiceMmTimeInfo)
 *   Published by the playback plugin whenever it starts or stops playing
 *   to a client. While `audio` is 1 the clients' clocks follow the stamps
 *   of the audio they play, and the latency a client needs goes to it as
 *   PLAYBACK LATENCY; while it is 0 the main channel sends the clock as
 *   MULTIMEDIA_TIME (now minus the latency; 400 ms by default, back to
 *   400 ms whenever audio stops), as the reference does. Read by the main
 *   plugin. Nobody: no audio plays; main owns the clients' clocks.
 */
#define SPICE_TOPIC_MM_TIME "spice.mm-time"

typedef struct SpiceMmTimeInfo {
    uint32_t size;
    uint32_t audio; /* 1: a playback stream runs the clients' clocks */
} SpiceMmTimeInfo;

/*
 * "spice.agent" (retained; key 0; SpiceAgentInfo)
 *   Published by the main plugin while a guest agent (the "vdagent" char
 *   device) is attached and keeps to the protocol; withdrawn when it goes.
 *   Read by the core (with agent-mouse on, an agent allows client mouse
 *   mode) and the inputs plugin (in client mode the pointer then goes to
 *   the agent). Nobody: no agent.
 */
#define SPICE_TOPIC_AGENT "spice.agent"

typedef struct SpiceAgentInfo {
    uint32_t size;
    uint32_t connected; /* 1 */
} SpiceAgentInfo;

/*
 * "spice.agent-mouse" (events; key 0; SpiceAgentMouseState) The client's
 *   pointer for the guest agent (client mouse mode with agent-mouse on):
 *   published by the inputs plugin, sent to the agent as
 *   VD_AGENT_MOUSE_STATE by the main plugin (only the newest one waits if
 *   the agent is slow). Nobody: the pointer goes nowhere.
 */
#define SPICE_TOPIC_AGENT_MOUSE "spice.agent-mouse"

typedef struct SpiceAgentMouseState {
    uint32_t size;
    uint32_t x, y;
    uint32_t buttons; /* VD_AGENT_LBUTTON_MASK ... (spice/vd_agent.h) */
    uint32_t display_id;
} SpiceAgentMouseState;

/*
 * "spice.client-monitors-config" (events; key 0; SpiceClientMonitorsConfig,
 *   then the VDAgentMonitorsConfig) The monitor layout the client asked
 *   for (its agent's VD_AGENT_MONITORS_CONFIG, already checked: the
 *   monitors fit in config_size). Published by the main plugin instead
 *   of forwarding the message to the guest agent, as the reference does,
 *   when every display says in "spice.display" that its device takes
 *   it. Read by the display plugin, which hands it to each device's
 *   client_monitors_config. Nobody (or a display that does not take it):
 *   the message goes to the guest agent.
 */
#define SPICE_TOPIC_CLIENT_MONITORS_CONFIG "spice.client-monitors-config"

typedef struct SpiceClientMonitorsConfig {
    uint32_t size;
    uint32_t config_size; /* bytes of VDAgentMonitorsConfig after the struct */
} SpiceClientMonitorsConfig;

/*
 * "spice.mm-latency" (events; key: the client's session id;
 *   SpiceMmLatencyRequest) How far behind the clock a client must play
 *   for its video frames to arrive in time: published by the display's
 *   video streams (and any plugin that streams on the clock) when the
 *   latency it measured changes. Read by the main plugin (while no audio
 *   plays: MULTIMEDIA_TIME again if the latency grew; it never shrinks
 *   until audio stops) and the playback plugin (while it plays: LATENCY to
 *   a client with SPICE_PLAYBACK_CAP_LATENCY). Nobody: the default
 *   latency stays.
 */
#define SPICE_TOPIC_MM_LATENCY "spice.mm-latency"

typedef struct SpiceMmLatencyRequest {
    uint32_t size;
    uint32_t latency_ms;
} SpiceMmLatencyRequest;

/*
 * "spice.client-link" (retained; key: the client's session id;
 *   SpiceClientLinkInfo; since 1.5) What the main channel's network test
 *   measured for the client's link: published by the main plugin when
 *   the test ends, withdrawn when the main channel goes. Read by the
 *   display plugin: JPEG and ZLIB-GLZ "auto" mean "when the bandwidth is
 *   low", as the reference, and video streams keep to a share of
 *   bitrate_bps. Nobody: no test ran (a unix socket, or it is
 *   not over yet), and the link counts as fast.
 */
#define SPICE_TOPIC_CLIENT_LINK "spice.client-link"

typedef struct SpiceClientLinkInfo {
    uint32_t size;
    uint32_t low_bandwidth; /* 1: below 10 Mbit/s, the reference's threshold */
    uint64_t latency_us;    /* round trip of a small ping */
    uint64_t bitrate_bps;   /* measured with a 250 KiB ping */
} SpiceClientLinkInfo;

/* ------------------------------------------------------------------------
 * Host services: the table the server hands to init(). Append-only; each
 * block is marked with the ABI minor that added it. A plugin that wants a
 * member newer than the minor it was built for checks `size` first with
 * SPICE_HOST_HAS().
 */
typedef void (*SpicePluginFunc)(void *opaque);
typedef void (*SpicePluginWatchFunc)(int fd, int events, void *opaque);

typedef struct SpiceHostServices {
    uint32_t size; /* sizeof(SpiceHostServices) as the server knows it */
    uint16_t abi_major;
    uint16_t abi_minor;

    /* --- since 1.0: the plugin itself --- */

    /* Any thread. Logs under the plugin's name. */
    void (*log)(SpicePlugin *plugin, SpicePluginLogLevel level, const char *format, ...)
        SPICE_PLUGIN_PRINTF(3, 4);
    /* Set the reason init() is about to fail with; shown to the operator. */
    void (*set_error)(SpicePlugin *plugin, const char *format, ...) SPICE_PLUGIN_PRINTF(2, 3);
    void (*set_data)(SpicePlugin *plugin, void *data);
    void *(*get_data)(SpicePlugin *plugin);
    /* A key of the plugin's section ([plugin NAME]) in the deployment's
     * config file, or NULL. The string lives as long as the plugin. */
    const char *(*config_get)(SpicePlugin *plugin, const char *key);

    /* --- since 1.0: channels --- */

    /* Register a channel instance of one of this plugin's classes. It is
     * listed to clients from now on. Returns NULL (and logs) if the
     * (type, id) pair is taken. */
    SpiceChannel *(*channel_register)(SpicePlugin *plugin, const SpiceChannelClass *klass,
                                      uint8_t id, void *channel_data);
    /* Disconnect its clients and remove it from the list. */
    void (*channel_unregister)(SpiceChannel *channel);
    void *(*channel_get_data)(SpiceChannel *channel);
    uint8_t (*channel_get_type)(SpiceChannel *channel);
    uint8_t (*channel_get_id)(SpiceChannel *channel);
    /* Change a capability advertised to clients that link from now on. */
    void (*channel_set_cap)(SpiceChannel *channel, uint32_t cap, bool enabled);
    /* Fill up to max entries with the channels clients may link to, in the
     * order to list them (MAIN excluded). Returns how many there are. */
    uint32_t (*channel_list)(SpicePlugin *plugin, SpiceChannelId *ids, uint32_t max);

    /* --- since 1.0: channel clients --- */

    void (*channel_client_set_data)(SpiceChannelClient *cc, void *data);
    void *(*channel_client_get_data)(SpiceChannelClient *cc);
    SpiceChannel *(*channel_client_get_channel)(SpiceChannelClient *cc);
    SpiceClient *(*channel_client_get_client)(SpiceChannelClient *cc);
    /* Capabilities the client announced in its link message. */
    bool (*channel_client_test_cap)(SpiceChannelClient *cc, uint32_t cap);
    bool (*channel_client_test_common_cap)(SpiceChannelClient *cc, uint32_t cap);
    /* Queue a message; the body is copied. Returns 0, -ENOSPC when the
     * outgoing queue limit is reached (the client is then disconnected)
     * or -EPIPE when the client is already being disconnected. */
    int (*channel_client_send)(SpiceChannelClient *cc, uint16_t type, const void *body,
                               uint32_t size);
    /* Queue a message and take ownership of body, freed with free_func
     * (NULL: free()) once written. Same return values; body is freed on
     * failure too. */
    int (*channel_client_send_owned)(SpiceChannelClient *cc, uint16_t type, void *body,
                                     uint32_t size, void (*free_func)(void *));
    /* True when the ack window is open and the outgoing queue is below its
     * low-water mark: producing more now will not pile up. */
    bool (*channel_client_can_send)(SpiceChannelClient *cc);
    /* Ask for one produce() call as soon as can_send() becomes true. */
    void (*channel_client_want_produce)(SpiceChannelClient *cc);
    /* Send a PING with payload_size zero bytes; the PONG is reported to
     * ops->pong. Returns the ping id. */
    uint32_t (*channel_client_ping)(SpiceChannelClient *cc, uint32_t payload_size);
    /* Disconnect; reason goes to the log. Safe inside ops callbacks: the
     * client is torn down once the callback returns. */
    void (*channel_client_disconnect)(SpiceChannelClient *cc, const char *reason);
    /* Socket family of the connection (AF_INET, AF_INET6, AF_UNIX). */
    int (*channel_client_get_family)(SpiceChannelClient *cc);

    /* --- since 1.0: client sessions --- */

    uint32_t (*client_get_session_id)(SpiceClient *client);
    /* Any thread. Send a NOTIFY (SPICE_NOTIFY_SEVERITY_*, VISIBILITY_*)
     * on the client's main channel. */
    void (*client_notify)(SpiceClient *client, uint32_t severity, uint32_t visibility,
                          uint32_t what, const char *message);

    /* --- since 1.0: server state --- */

    /* Current mouse mode (SPICE_MOUSE_MODE_*); *supported gets the mask of
     * modes allowed now. */
    uint32_t (*mouse_mode_get)(SpicePlugin *plugin, uint32_t *supported);
    /* Switch modes if the mode is allowed; returns 0 or -EPERM. Plugins
     * get SPICE_SERVER_EVENT_MOUSE_MODE_CHANGED when it changes. */
    int (*mouse_mode_request)(SpicePlugin *plugin, uint32_t mode);
    /* Server name (NULL if unset) and UUID (false if unset). */
    const char *(*server_get_name)(SpicePlugin *plugin);
    bool (*server_get_uuid)(SpicePlugin *plugin, uint8_t uuid[16]);
    /* Any thread (a value the host changes later may be read stale). */
    int64_t (*server_get_int)(SpicePlugin *plugin, SpiceServerInt key);
    /* Any thread. The multimedia clock in milliseconds. */
    uint32_t (*mm_time)(SpicePlugin *plugin);

    /* --- since 1.0: event loops --- */

    /* Timers and watches belong to one loop: `loop` NULL means the host's
     * thread. Create, start, cancel, update and free them on that loop's
     * thread only; their callbacks run there. A timer is one-shot:
     * starting an armed timer re-arms it. free() cancels first, and no
     * callback runs after it returns. A plugin frees its timers and
     * watches before their loop is freed. Creating one returns NULL when
     * the host's core interface refuses. */
    SpicePluginTimer *(*timer_new)(SpicePlugin *plugin, SpicePluginLoop *loop, SpicePluginFunc func,
                                   void *opaque);
    /* Loop thread. Fire once, ms milliseconds from now. */
    void (*timer_start)(SpicePluginTimer *timer, uint32_t ms);
    /* Loop thread. Disarm; harmless when not armed. */
    void (*timer_cancel)(SpicePluginTimer *timer);
    /* Loop thread. NULL is fine. */
    void (*timer_free)(SpicePluginTimer *timer);
    /* Loop thread. events: SPICE_WATCH_EVENT_READ / _WRITE; func gets the
     * events that happened. The fd stays the plugin's: free the watch
     * before closing it. */
    SpicePluginWatch *(*watch_new)(SpicePlugin *plugin, SpicePluginLoop *loop, int fd, int events,
                                   SpicePluginWatchFunc func, void *opaque);
    /* Loop thread. 0 pauses the watch. */
    void (*watch_update)(SpicePluginWatch *watch, int events);
    /* Loop thread. NULL is fine; no callback runs after it returns. */
    void (*watch_free)(SpicePluginWatch *watch);

    /* --- since 1.1: worker threads --- */

    /* Host thread. Start a thread running its own event loop (named for
     * debuggers). NULL if the thread cannot start. The loop is the
     * plugin's until loop_free(); the core frees (with a warning) any
     * loop still running after deinit(). */
    SpicePluginLoop *(*loop_new)(SpicePlugin *plugin, const char *name);
    /* Host thread, never the loop's own. Run what was queued, stop and
     * join the thread, free the loop. Free its timers and watches first
     * (on the loop, e.g. with loop_invoke(..., wait)). */
    void (*loop_free)(SpicePluginLoop *loop);
    /* Any thread. Run func(opaque) on the loop's thread (NULL: the host's
     * thread). Without wait it is queued (never run inside this call),
     * and calls from one thread run in order. With wait, block until it
     * ran; from the loop's own thread func runs at once. A worker must
     * not wait for the host thread while the host thread waits for it. */
    void (*loop_invoke)(SpicePlugin *plugin, SpicePluginLoop *loop, SpicePluginFunc func,
                        void *opaque, bool wait);
    /* Host thread, inside or after connect(). Hand a channel client to a
     * worker loop. on_moved(cc, opaque) then runs on that thread; from
     * then on all services and ops for cc run there. */
    void (*channel_client_move)(SpiceChannelClient *cc, SpicePluginLoop *loop,
                                void (*on_moved)(SpiceChannelClient *cc, void *opaque),
                                void *opaque);

    /* --- since 1.2: events between plugins --- */

    /* Any thread. Publish an event to the other plugins (and the core);
     * the event and its payload are copied. Kept for 1.2 plugins: new
     * code uses topics. The core turns DISPLAY_ADDED / DISPLAY_REMOVED,
     * PRIMARY and CURSOR events into the topics "spice.display",
     * "spice.primary" and "spice.cursor", and those topics back into
     * events for plugins that have plugin_event. */
    void (*event_publish)(SpicePlugin *plugin, const SpicePluginEvent *event);

    /* --- since 1.3: topics (see "Topics" above for the whole contract) --- */

    /* Any thread. Publish payload (size bytes, copied) as topic's value
     * for key (flags SPICE_TOPIC_RETAIN) or as an event (flags 0).
     * Returns the number of subscriptions it will reach, -EINVAL or
     * -EPERM (see "Topics"). */
    int (*topic_publish)(SpicePlugin *plugin, const char *topic, uint32_t key, const void *payload,
                         uint32_t size, uint32_t flags);
    /* Any thread. Call func(plugin, topic, key, payload, size, opaque) on
     * loop's thread (NULL: the host thread) for every value published
     * from now on, first for every current value. NULL on a bad name. */
    SpiceTopicSubscription *(*topic_subscribe)(SpicePlugin *plugin, const char *topic,
                                               SpicePluginLoop *loop, SpiceTopicFunc func,
                                               void *opaque);
    /* The subscription's loop thread (or deinit()). No callback runs after
     * it returns. NULL is fine. */
    void (*topic_unsubscribe)(SpiceTopicSubscription *subscription);
    /* Any thread. Copy at most max bytes of the current value of (topic,
     * key) into payload; returns its whole size, or -ENOENT when nobody
     * publishes it, -EINVAL for a bad name. */
    int (*topic_get)(SpicePlugin *plugin, const char *topic, uint32_t key, void *payload,
                     uint32_t max);

    /* --- since 1.4: flow control from the client --- */

    /* The client's loop thread. paused true: after the message being
     * handled (if any), no more of cc's messages reach handle_message and
     * nothing more is read from its socket, so the client's own TCP
     * window fills and it waits; for a channel that feeds a device which
     * cannot take more now. paused false: the messages that were already
     * read go first (once the current callback returns), then the socket
     * again. Outgoing messages keep flowing either way. Harmless when the
     * state does not change. */
    void (*channel_client_pause_input)(SpiceChannelClient *cc, bool paused);
} SpiceHostServices;

/* True when the server's table has member `member`. */
#define SPICE_HOST_HAS(host, member)                                                 \
    ((host)->size >= offsetof(SpiceHostServices, member) + sizeof((host)->member) && \
     (host)->member != NULL)

/* ------------------------------------------------------------------------
 * The descriptor.
 */
typedef struct SpicePluginDescriptor {
    uint32_t magic;     /* SPICE_PLUGIN_MAGIC */
    uint16_t abi_major; /* SPICE_PLUGIN_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor; /* SPICE_PLUGIN_ABI_MINOR the plugin was built with */
    uint32_t size;      /* sizeof(SpicePluginDescriptor) the plugin was built with */
    uint32_t reserved0;

    const char *name;        /* must match the file name libspice-plugin-NAME.so */
    const char *version;     /* the plugin's own version */
    const char *license;     /* SPDX identifier */
    const char *description; /* one line */
    const char *origin;      /* where it comes from (URL or vendor) */

    /* NULL-terminated arrays. */
    const SpiceChannelClass *const *channels;
    const SpiceInterfaceClass *const *interfaces;

    /* Called once per server, on the host's thread. Return 0, or a
     * negative errno after set_error(). */
    int (*init)(SpicePlugin *plugin, const SpiceHostServices *host);
    /* Called once per server before unloading; channels are already gone. */
    void (*deinit)(SpicePlugin *plugin);
    /* Optional. */
    void (*server_event)(SpicePlugin *plugin, const SpiceServerEvent *event);
    /* Optional, since 1.2 (was reserved: NULL in older plugins). Events
     * other plugins published; host thread. */
    void (*plugin_event)(SpicePlugin *plugin, const SpicePluginEvent *event);

    void *reserved[7];
} SpicePluginDescriptor;

typedef const SpicePluginDescriptor *(*SpicePluginQueryFunc)(void);

/*
 * SPICE_PLUGIN_DEFINE(name, ...): define the query entry point for plugin
 * `name` (an identifier, the file name's NAME with '-' written as '_'),
 * with the remaining descriptor members given as designated initialisers:
 *
 *   SPICE_PLUGIN_DEFINE(inputs,
 *       .version = "1.0", .license = "LGPL-2.1-or-later",
 *       .description = "...", .origin = "...",
 *       .channels = inputs_channels, .interfaces = inputs_interfaces,
 *       .init = inputs_init, .deinit = inputs_deinit)
 *
 * When the build defines SPICE_PLUGIN_FILE_NAME to the NAME part of the
 * output file (our meson helper and the pkg-config example do), a name
 * that differs from the file name is a compile error.
 */
#define SPICE_PLUGIN_CONCAT_(a, b) a##b
#define SPICE_PLUGIN_CONCAT(a, b)  SPICE_PLUGIN_CONCAT_(a, b)

#ifdef SPICE_PLUGIN_FILE_NAME
#define SPICE_PLUGIN_NAME_CHECK(id_)                                                  \
    enum { spice_plugin_name_is_##id_ = 1 };                                          \
    /* A compile error here means the plugin name and its file name differ. */        \
    typedef char spice_plugin_name_check_t[SPICE_PLUGIN_CONCAT(spice_plugin_name_is_, \
                                                               SPICE_PLUGIN_FILE_NAME)];
#else
#define SPICE_PLUGIN_NAME_CHECK(id_)
#endif

#define SPICE_PLUGIN_DEFINE(id_, ...)                                                            \
    SPICE_PLUGIN_NAME_CHECK(id_)                                                                 \
    SPICE_PLUGIN_EXPORT const SpicePluginDescriptor *spice_plugin_##id_##_query(void);           \
    SPICE_PLUGIN_EXPORT const SpicePluginDescriptor *spice_plugin_##id_##_query(void)            \
    {                                                                                            \
        static const SpicePluginDescriptor descriptor = { .magic = SPICE_PLUGIN_MAGIC,           \
                                                          .abi_major = SPICE_PLUGIN_ABI_MAJOR,   \
                                                          .abi_minor = SPICE_PLUGIN_ABI_MINOR,   \
                                                          .size = sizeof(SpicePluginDescriptor), \
                                                          .name = #id_,                          \
                                                          __VA_ARGS__ };                         \
        return &descriptor;                                                                      \
    }

#ifdef __cplusplus
}
#endif

#endif /* SPICE_PLUGIN_H_ */
