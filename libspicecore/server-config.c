/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * server-config.c: the spice_server_set_* / get_* entry points and the
 * ticket check. Setters validate and store; the modules that use a value
 * read it from ServerConfig (plugins through server_get_int).
 */
#include "server-config.h"

#include <string.h>

#include <spice/enums.h>

#include "auth-ticket.h"
#include "client.h"
#include "plugin-loader.h"
#include "registry.h"

SPICE_EXPORT spice_compat_version_t spice_get_current_compat_version(void)
{
    return SPICE_COMPAT_VERSION_CURRENT;
}

SPICE_EXPORT int spice_server_set_compat_version(SpiceServer *s, spice_compat_version_t version)
{
    g_return_val_if_fail(s != NULL, -1);
    if (version != SPICE_COMPAT_VERSION_0_6) {
        g_warning("spice_server_set_compat_version: only 0.6 compatibility is supported "
                  "(asked for %d)",
                  (int)version);
        return -1;
    }
    return 0;
}

SPICE_EXPORT int spice_server_set_port(SpiceServer *s, int port)
{
    g_return_val_if_fail(s != NULL, -1);
    if (port < 0 || port > 0xffff) {
        g_warning("spice_server_set_port: %d is not a port number", port);
        return -1;
    }
    s->config.port = port;
    return 0;
}

SPICE_EXPORT void spice_server_set_addr(SpiceServer *s, const char *addr, int flags)
{
    g_return_if_fail(s != NULL);
    g_free(s->config.addr);
    s->config.addr = addr ? g_strdup(addr) : NULL;
    s->config.addr_flags = flags;
}

SPICE_EXPORT int spice_server_set_listen_socket_fd(SpiceServer *s, int listen_fd)
{
    g_return_val_if_fail(s != NULL, -1);
    s->config.listen_fd = listen_fd;
    return 0;
}

SPICE_EXPORT int spice_server_set_exit_on_disconnect(SpiceServer *s, int flag)
{
    g_return_val_if_fail(s != NULL, -1);
    s->config.exit_on_disconnect = flag != 0;
    return 0;
}

SPICE_EXPORT int spice_server_set_noauth(SpiceServer *s)
{
    g_return_val_if_fail(s != NULL, -1);
    memset(s->config.password, 0, sizeof(s->config.password));
    s->config.ticketing = false;
    return 0;
}

SPICE_EXPORT int spice_server_set_sasl(SpiceServer *s, int enabled)
{
    g_return_val_if_fail(s != NULL, -1);
#ifdef HAVE_SASL
    s->config.sasl = enabled != 0;
    return 0;
#else
    if (enabled) {
        g_warning("spice_server_set_sasl: SASL authentication is not supported by this build "
                  "(built without cyrus-sasl)");
        return -1;
    }
    return 0;
#endif
}

SPICE_EXPORT int spice_server_set_sasl_appname(SpiceServer *s, const char *appname)
{
    g_return_val_if_fail(s != NULL, -1);
    /* Hosts set the name whether or not they enable SASL (QEMU always
     * does): kept, and used (as cyrus-sasl's configuration name) only
     * when SASL is on. */
    g_free(s->config.sasl_appname);
    s->config.sasl_appname = g_strdup(appname);
    return 0;
}

SPICE_EXPORT int spice_server_set_ticket(SpiceServer *s, const char *passwd, int lifetime,
                                         int fail_if_connected, int disconnect_if_connected)
{
    g_return_val_if_fail(s != NULL, -1);
    ServerConfig *c = &s->config;
    if (passwd && strlen(passwd) > SPICE_TICKET_MAX_LEN) {
        g_warning("spice_server_set_ticket: password longer than %d characters",
                  SPICE_TICKET_MAX_LEN);
        return -1;
    }
    bool connected = s->client && s->client->main_cc;
    if (connected) {
        if (fail_if_connected) {
            return -1;
        }
        if (disconnect_if_connected) {
            client_destroy(s->client, "ticket changed");
        } else if (!c->ticketing) {
            /* The connected client never authenticated: it must not stay
             * once a password is required. */
            g_message("ticketing switched on: disconnecting the unauthenticated client");
            client_destroy(s->client, "ticketing switched on");
        }
    }
    c->ticketing = true;
    if (passwd) {
        g_strlcpy(c->password, passwd, sizeof(c->password));
        c->ticket_expiry_us =
            lifetime > 0 ? g_get_monotonic_time() + (int64_t)lifetime * G_USEC_PER_SEC : INT64_MAX;
    } else {
        memset(c->password, 0, sizeof(c->password));
        c->ticket_expiry_us = 0; /* expired */
    }
    return 0;
}

const char *server_config_check_ticket(SpiceServer *s, const char *password, bool skip_auth)
{
    ServerConfig *c = &s->config;
    if (!c->ticketing || skip_auth) {
        return NULL;
    }
    if (c->password[0] == '\0') {
        return "ticketing is enabled but no password is set";
    }
    if (g_get_monotonic_time() > c->ticket_expiry_us) {
        return "the ticket has expired";
    }
    if (!auth_password_equal(password, c->password)) {
        return "invalid password";
    }
    return NULL;
}

void server_config_clear_tls(ServerConfig *c)
{
    if (c->tls_key_password) {
        memset(c->tls_key_password, 0, strlen(c->tls_key_password));
    }
    g_clear_pointer(&c->tls_ca_cert_file, g_free);
    g_clear_pointer(&c->tls_certs_file, g_free);
    g_clear_pointer(&c->tls_private_key_file, g_free);
    g_clear_pointer(&c->tls_key_password, g_free);
    g_clear_pointer(&c->tls_dh_key_file, g_free);
    g_clear_pointer(&c->tls_ciphersuite, g_free);
    c->tls = false;
    c->tls_port = -1;
}

/* The files are read at spice_server_init (where a bad one fails it);
 * here only what the reference checks: a port and the three files. */
SPICE_EXPORT int spice_server_set_tls(SpiceServer *s, int port, const char *ca_cert_file,
                                      const char *certs_file, const char *private_key_file,
                                      const char *key_passwd, const char *dh_key_file,
                                      const char *ciphersuite)
{
    g_return_val_if_fail(s != NULL, -1);
    if (port == 0 || !ca_cert_file || !certs_file || !private_key_file) {
        g_warning("spice_server_set_tls: a port, a CA file, a certificate and a key are needed");
        return -1;
    }
    if (port < 0 || port > 0xffff) {
        g_warning("spice_server_set_tls: port %d out of range", port);
        return -1;
    }
    if (s->initialized) {
        g_warning("spice_server_set_tls: only before spice_server_init");
        return -1;
    }
    ServerConfig *c = &s->config;
    server_config_clear_tls(c);
    c->tls = true;
    c->tls_port = port;
    c->tls_ca_cert_file = g_strdup(ca_cert_file);
    c->tls_certs_file = g_strdup(certs_file);
    c->tls_private_key_file = g_strdup(private_key_file);
    c->tls_key_password = g_strdup(key_passwd ? key_passwd : "");
    c->tls_dh_key_file = g_strdup(dh_key_file ? dh_key_file : "");
    c->tls_ciphersuite = g_strdup(ciphersuite ? ciphersuite : "");
    return 0;
}

SPICE_EXPORT int spice_server_set_image_compression(SpiceServer *s, SpiceImageCompression comp)
{
    g_return_val_if_fail(s != NULL, -1);
    if (comp <= SPICE_IMAGE_COMPRESSION_INVALID || comp >= SPICE_IMAGE_COMPRESSION_ENUM_END) {
        g_warning("spice_server_set_image_compression: invalid value %d", (int)comp);
        return -1;
    }
    s->config.image_compression = comp;
    return 0;
}

SPICE_EXPORT SpiceImageCompression spice_server_get_image_compression(SpiceServer *s)
{
    g_return_val_if_fail(s != NULL, SPICE_IMAGE_COMPRESSION_INVALID);
    return s->config.image_compression;
}

static int check_wan(const char *what, spice_wan_compression_t comp)
{
    if (comp != SPICE_WAN_COMPRESSION_AUTO && comp != SPICE_WAN_COMPRESSION_ALWAYS &&
        comp != SPICE_WAN_COMPRESSION_NEVER) {
        g_warning("%s: invalid value %d", what, (int)comp);
        return -1;
    }
    return 0;
}

SPICE_EXPORT int spice_server_set_jpeg_compression(SpiceServer *s, spice_wan_compression_t comp)
{
    g_return_val_if_fail(s != NULL, -1);
    if (check_wan("spice_server_set_jpeg_compression", comp) < 0) {
        return -1;
    }
    s->config.jpeg_compression = comp;
    return 0;
}

SPICE_EXPORT int spice_server_set_zlib_glz_compression(SpiceServer *s, spice_wan_compression_t comp)
{
    g_return_val_if_fail(s != NULL, -1);
    if (check_wan("spice_server_set_zlib_glz_compression", comp) < 0) {
        return -1;
    }
    s->config.zlib_glz_compression = comp;
    return 0;
}

/* channel NULL sets the default (QEMU passes NULL for tls-channel=default);
 * "default" itself is no channel name, as for the reference. */
SPICE_EXPORT int spice_server_set_channel_security(SpiceServer *s, const char *channel,
                                                   int security)
{
    g_return_val_if_fail(s != NULL, -1);
    if (channel) {
        bool known = false;
        for (unsigned t = SPICE_CHANNEL_MAIN; t < SPICE_END_CHANNEL; t++) {
            known |= strcmp(channel, plugin_channel_type_name((uint8_t)t)) == 0;
        }
        if (!known) {
            g_warning("spice_server_set_channel_security: unknown channel '%s'", channel);
            return -1;
        }
    }
    /* The table's "default" key cannot clash: no channel has that name. */
    g_hash_table_replace(s->config.channel_security, g_strdup(channel ? channel : "default"),
                         GINT_TO_POINTER(security));
    return 0;
}

SPICE_EXPORT int spice_server_add_renderer(SpiceServer *s, const char *name)
{
    g_return_val_if_fail(s != NULL && name != NULL, -1);
    if (strcmp(name, "sw") != 0) {
        g_warning("spice_server_add_renderer: unknown renderer '%s' (only 'sw' exists)", name);
        return -1;
    }
    return 0;
}

SPICE_EXPORT int spice_server_set_streaming_video(SpiceServer *s, int value)
{
    g_return_val_if_fail(s != NULL, -1);
    if (value != SPICE_STREAM_VIDEO_OFF && value != SPICE_STREAM_VIDEO_ALL &&
        value != SPICE_STREAM_VIDEO_FILTER) {
        g_warning("spice_server_set_streaming_video: invalid value %d", value);
        return -1;
    }
    s->config.streaming_video = value;
    return 0;
}

/*
 * The video codec list: "encoder:codec" entries separated by ';', as the
 * reference parses it (an entry is letters, digits and '_', a ':', the
 * same again; anything else up to the next ';' is an invalid entry).
 * Encoders: "spice" (ours: MJPEG with libjpeg-turbo) and "gstreamer",
 * which is known but not in this build. The codecs are the reference's
 * names; the reference also takes "spice:vp8" and then streams nothing
 * with it, and so do we (SPICE_SERVER_INT_VIDEO_CODECS holds the codecs
 * of "spice" entries; the display streams only MJPEG). "auto" is the
 * default list. At least one entry must be taken, or the list stays as it
 * was and the call returns -1.
 */
#define DEFAULT_VIDEO_CODECS "spice:mjpeg"

static const struct {
    const char *name;
    uint32_t type; /* SPICE_VIDEO_CODEC_TYPE_* */
} video_codec_names[] = {
    { "mjpeg", SPICE_VIDEO_CODEC_TYPE_MJPEG }, { "vp8", SPICE_VIDEO_CODEC_TYPE_VP8 },
    { "h264", SPICE_VIDEO_CODEC_TYPE_H264 },   { "vp9", SPICE_VIDEO_CODEC_TYPE_VP9 },
    { "h265", SPICE_VIDEO_CODEC_TYPE_H265 },
};

static size_t name_span(const char *p)
{
    size_t n = 0;
    while (g_ascii_isalnum(p[n]) || p[n] == '_') {
        n++;
    }
    return n;
}

int server_set_video_codecs(SpiceServer *s, const char *list)
{
    if (strcmp(list, "auto") == 0) {
        list = DEFAULT_VIDEO_CODECS;
    }
    g_autofree char *copy = g_strdup_printf("%s;", list);
    g_autoptr(GString) taken = g_string_new(NULL);
    uint32_t mask = 0;
    const char *p = copy;
    for (;;) {
        p += strspn(p, ";");
        if (!*p) {
            break;
        }
        size_t e = name_span(p), c = p[e] == ':' ? name_span(p + e + 1) : 0;
        if (e == 0 || c == 0 || p[e + 1 + c] != ';') {
            g_warning("spice_server_set_video_codecs: invalid encoder:codec value at %s", p);
            p += strcspn(p, ";");
            continue;
        }
        g_autofree char *encoder = g_strndup(p, e);
        g_autofree char *codec = g_strndup(p + e + 1, c);
        p += e + 1 + c + 1;
        size_t k = 0;
        while (k < G_N_ELEMENTS(video_codec_names) && strcmp(video_codec_names[k].name, codec)) {
            k++;
        }
        if (strcmp(encoder, "spice") != 0 && strcmp(encoder, "gstreamer") != 0) {
            g_warning("spice_server_set_video_codecs: unknown video encoder %s", encoder);
        } else if (k == G_N_ELEMENTS(video_codec_names)) {
            g_warning("spice_server_set_video_codecs: unknown video codec %s", codec);
        } else if (strcmp(encoder, "gstreamer") == 0) {
            g_warning("spice_server_set_video_codecs: unsupported video encoder %s (this build "
                      "has no GStreamer encoders)",
                      encoder);
        } else {
            g_string_append_printf(taken, "%s%s:%s", taken->len ? ";" : "", encoder, codec);
            mask |= 1u << video_codec_names[k].type;
        }
    }
    if (taken->len == 0) {
        g_warning("spice_server_set_video_codecs: no video codec taken from '%s'", list);
        return -1;
    }
    g_free(s->config.video_codecs);
    s->config.video_codecs = g_string_free(g_steal_pointer(&taken), FALSE);
    s->config.video_codec_mask = mask;
    return 0;
}

SPICE_EXPORT int spice_server_set_video_codecs(SpiceServer *s, const char *video_codecs)
{
    g_return_val_if_fail(s != NULL && video_codecs != NULL, -1);
    return server_set_video_codecs(s, video_codecs);
}

void server_default_video_codecs(SpiceServer *s)
{
    if (!s->config.video_codecs) {
        server_set_video_codecs(s, DEFAULT_VIDEO_CODECS);
    }
}

SPICE_EXPORT const char *spice_server_get_video_codecs(SpiceServer *s)
{
    g_return_val_if_fail(s != NULL, NULL);
    /* Empty until set or until spice_server_init() sets the default, as
     * the reference. Freed with free_video_codecs. */
    return g_strdup(s->config.video_codecs ? s->config.video_codecs : "");
}

SPICE_EXPORT void spice_server_free_video_codecs(SpiceServer *s, const char *video_codecs)
{
    (void)s;
    g_free((char *)video_codecs);
}

SPICE_EXPORT int spice_server_set_playback_compression(SpiceServer *s, int enable)
{
    g_return_val_if_fail(s != NULL, -1);
    s->config.playback_compression = enable != 0;
    return 0;
}

SPICE_EXPORT int spice_server_set_agent_mouse(SpiceServer *s, int enable)
{
    g_return_val_if_fail(s != NULL, -1);
    s->config.agent_mouse = enable != 0;
    if (s->initialized) {
        server_update_mouse_mode(s);
    }
    return 0;
}

SPICE_EXPORT int spice_server_set_agent_copypaste(SpiceServer *s, int enable)
{
    g_return_val_if_fail(s != NULL, -1);
    s->config.agent_copypaste = enable != 0;
    return 0;
}

SPICE_EXPORT int spice_server_set_agent_file_xfer(SpiceServer *s, int enable)
{
    g_return_val_if_fail(s != NULL, -1);
    s->config.agent_file_xfer = enable != 0;
    return 0;
}

SPICE_EXPORT void spice_server_set_name(SpiceServer *s, const char *name)
{
    g_return_if_fail(s != NULL);
    g_free(s->config.name);
    s->config.name = g_strdup(name);
}

SPICE_EXPORT void spice_server_set_uuid(SpiceServer *s, const uint8_t uuid[16])
{
    g_return_if_fail(s != NULL && uuid != NULL);
    memcpy(s->config.uuid, uuid, 16);
    s->config.uuid_set = true;
}

SPICE_EXPORT void spice_server_set_seamless_migration(SpiceServer *s, int enable)
{
    g_return_if_fail(s != NULL);
    /* Migration is not supported (spice_server_migrate_* say so), so the
     * choice has no effect and is not kept. */
    (void)enable;
}
