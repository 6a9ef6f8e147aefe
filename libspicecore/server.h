/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * server.h: the SpiceServer object and what the core's modules share.
 *
 * Ownership in one picture:
 *
 *   SpiceServer
 *    |- EventLoop host loop (the host's SpiceCoreInterface)
 *    |- Listener[]             listening sockets          (net.c)
 *    |- LinkConn list          handshakes in progress     (link.c)
 *    |- SpicePlugin[]          loaded plugins             (plugin-host.c)
 *    |- SpiceChannel list      the registration ring      (registry.c)
 *    |- InterfaceRecord list   host interfaces added      (interfaces.c)
 *    |- TopicBoard             topics between plugins     (topics.c)
 *    `- SpiceClient (0 or 1)   the connected client       (client.c)
 *         `- SpiceChannelClient[]  its connections        (channel-client.c)
 *
 * Everything above is touched on the host's thread only, except channel
 * clients moved to a worker loop (they are then touched on that loop's
 * thread) and what is marked otherwise.
 */
#ifndef SPICECORE_SERVER_H_
#define SPICECORE_SERVER_H_

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <openssl/ssl.h>

#ifndef SPICE_SERVER_INTERNAL
#define SPICE_SERVER_INTERNAL
#endif
#include "spice-server/spice.h"
#include "spice-plugin.h"

#include "event-loop.h"

#ifndef G_LOG_DOMAIN
#define G_LOG_DOMAIN "spicecore"
#endif

/* Functions exported from the library. */
#define SPICE_EXPORT __attribute__((visibility("default")))

typedef struct Listener Listener;
typedef struct AuthKeyPool AuthKeyPool;
typedef struct LinkConn LinkConn;
typedef struct InterfaceRecord InterfaceRecord;
typedef struct TopicBoard TopicBoard;

#define SPICE_TICKET_MAX_LEN 60

typedef struct ServerConfig {
    /* listening */
    int port;       /* -1: none */
    char *addr;     /* NULL: any */
    int addr_flags; /* SPICE_ADDR_FLAG_* */
    int listen_fd;  /* -1: none; owned by the host */
    int tls_port;   /* -1: none */

    /* TLS (spice_server_set_tls): files, NULL when not set */
    bool tls;
    char *tls_ca_cert_file;
    char *tls_certs_file;
    char *tls_private_key_file;
    char *tls_key_password;
    char *tls_dh_key_file;
    char *tls_ciphersuite;

    /* authentication */
    bool sasl;          /* spice_server_set_sasl(1), in a HAVE_SASL build */
    char *sasl_appname; /* NULL: "spice" */
    bool ticketing;
    char password[SPICE_TICKET_MAX_LEN + 1];
    int64_t ticket_expiry_us; /* monotonic; INT64_MAX: never */

    /* session */
    bool exit_on_disconnect;
    char *name;
    uint8_t uuid[16];
    bool uuid_set;

    /* display and audio policy, read by plugins */
    SpiceImageCompression image_compression;
    spice_wan_compression_t jpeg_compression;
    spice_wan_compression_t zlib_glz_compression;
    int streaming_video;
    char *video_codecs;        /* NULL: not set yet (the default at init) */
    uint32_t video_codec_mask; /* 1 << SPICE_VIDEO_CODEC_TYPE_* of "spice" entries */
    bool playback_compression;
    bool agent_mouse;
    bool agent_copypaste;
    bool agent_file_xfer;
    /* channel name -> SPICE_CHANNEL_SECURITY_* ("default" for the rest) */
    GHashTable *channel_security;
} ServerConfig;

struct SpiceServer {
    ServerConfig config;
    bool initialized;
    const SpiceCoreInterface *core;
    EventLoop *loop;

    GPtrArray *listeners;          /* Listener* */
    GList *links;                  /* LinkConn* in progress */
    GPtrArray *plugins;            /* SpicePlugin*, in load order */
    GPtrArray *plugins_not_loaded; /* "NAME (why)" of plugin files left out */
    GList *channels;               /* SpiceChannel*, registration order */
    GList *interfaces;             /* InterfaceRecord* */
    SpiceClient *client;           /* the one connected client, or NULL */
    AuthKeyPool *keys;             /* fresh RSA keys for links */
    SSL_CTX *tls_ctx;              /* when TLS is configured */
    TopicBoard *topics;            /* facts and events between plugins (topics.c) */

    /* mouse */
    uint32_t mouse_mode;              /* SPICE_MOUSE_MODE_* current */
    uint32_t mouse_supported_last;    /* supported modes last announced */
    bool display_allows_client_mouse; /* set by the display owner */
    bool agent_connected;             /* "spice.agent" */
    uint32_t qxl_ram_size;

    bool vm_running;
};

/* ---- server.c ---- */
/* Broadcast a server event to every plugin that listens. */
void server_emit_event(SpiceServer *s, SpiceServerEventType type, SpiceChannel *channel);
/* Recompute the allowed mouse modes; switches to server mode when client
 * mode is no longer allowed and tells plugins when anything changed. */
void server_update_mouse_mode(SpiceServer *s);
uint32_t server_supported_mouse_modes(SpiceServer *s);
/* Switch to mode if allowed: 0, or -EPERM. */
int server_request_mouse_mode(SpiceServer *s, uint32_t mode);
uint32_t server_mm_time(SpiceServer *s);
/* Stop the server's own background threads before the process exits
 * under us (exit-on-disconnect): exit() runs library destructors, which
 * must not race with a thread still inside OpenSSL. */
void server_prepare_exit(SpiceServer *s);

/* ---- server-config.c ---- */
/* Parse and take a video codec list (spice_server_set_video_codecs):
 * 0, or -1 with the list unchanged. */
int server_set_video_codecs(SpiceServer *s, const char *list);
/* The default list, if none was set (at spice_server_init). */
void server_default_video_codecs(SpiceServer *s);

/* ---- host event ---- */
void server_channel_event(SpiceServer *s, int event, SpiceChannelEventInfo *info);

#endif /* SPICECORE_SERVER_H_ */
