/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * link.c: the link handshake, run on the host's thread for every new
 * connection, never blocking:
 *
 *   client -> link header (16 bytes) + link message (<= 4096 bytes); the
 *             first 4 bytes are checked on their own, so a client that
 *             is not speaking SPICE gets its error at once
 *   server -> link header + link reply (error, RSA public key, caps)
 *   client -> [auth mechanism, u32, if it has AUTH_SELECTION] + 128-byte
 *             RSA-OAEP ticket
 *   server -> u32 link result
 *
 * then the stream is handed to a channel client. Every read takes exactly
 * the bytes the current step needs, so nothing the client pipelines after
 * the handshake is consumed here. A handshake that does not finish within
 * LINK_TIMEOUT_MS is dropped; when MAX_PENDING_LINKS are under way the
 * oldest goes, so clients that stall their handshakes cannot keep others
 * out.
 *
 * Before all that, on the TLS port, the TLS handshake. And on either
 * port, a connection whose first four bytes are "GET " is a WebSocket:
 * its HTTP Upgrade request is read (at most WS_MAX_REQUEST bytes), the
 * 101 answer sent, and the link above then runs inside WebSocket frames
 * (websocket.c, stream.c), for every channel.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spice/protocol.h>
#ifdef HAVE_SASL
#include <sasl/sasl.h>
#endif

#include "spice-plugin-wire.h"

#include "auth-ticket.h"
#include "channel-client.h"
#include "client.h"
#include "link-parser.h"
#include "link.h"
#include "net.h"
#include "plugin-loader.h"
#include "registry.h"
#include "server-config.h"
#include "sasl-auth.h"
#include "server.h"
#include "stream.h"
#include "websocket.h"

#define LINK_TIMEOUT_MS   30000
#define MAX_PENDING_LINKS 64

typedef enum {
    LINK_TLS_HANDSHAKE,
    LINK_READ_HEADER,
    LINK_READ_HTTP, /* a WebSocket's Upgrade request */
    LINK_READ_MESSAGE,
    LINK_READ_AUTH_MECHANISM,
    LINK_READ_TICKET,
    LINK_READ_SASL_MECHNAME_LEN,
    LINK_READ_SASL_MECHNAME,
    LINK_READ_SASL_DATA_LEN,
    LINK_READ_SASL_DATA,
    LINK_SEND_UPGRADE, /* 101 queued; frames from then on */
    LINK_SEND_SASL_OK, /* SASL's own OK queued; then the link result */
    LINK_SEND_RESULT,  /* result queued; hand off once written */
    LINK_SEND_ERROR,   /* error queued; close once written */
} LinkState;

struct LinkConn {
    SpiceServer *server;
    Stream *stream;
    bool skip_auth;
    bool websocket;
    GByteArray *http; /* the Upgrade request so far */
    LinkState state;
    char *peer;

    uint8_t in[LINK_MAX_SIZE];
    size_t in_len;
    size_t in_need;

    GByteArray *out;
    size_t out_pos;

    EventLoopWatch *watch;
    int watch_events;
    EventLoopTimer *timer;
    SpiceChannelEventInfo *info;

    LinkHeader header;
    LinkMessage message;
    GArray *common_caps;
    GArray *caps;
    AuthKey *key;
    uint32_t session_id; /* for secondary channels: the session joined */
#ifdef HAVE_SASL
    SaslAuth *sasl;
    char *sasl_mech;     /* chosen, until the first step */
    GByteArray *sasl_in; /* a client step */
    void *sasl_layer;    /* after the result is written */
#endif
};

static void link_io(int fd, int events, void *opaque);

static void link_free(LinkConn *link)
{
    SpiceServer *s = link->server;
    s->links = g_list_remove(s->links, link);
    event_loop_watch_free(link->watch);
    event_loop_timer_free(link->timer);
    stream_free(link->stream);
    if (link->http) {
        g_byte_array_unref(link->http);
    }
    if (link->info) {
        server_channel_event(s, SPICE_CHANNEL_EVENT_DISCONNECTED, link->info);
        g_free(link->info);
    }
    if (link->common_caps) {
        g_array_unref(link->common_caps);
    }
    if (link->caps) {
        g_array_unref(link->caps);
    }
    auth_key_free(link->key);
#ifdef HAVE_SASL
    sasl_auth_free(link->sasl);
    g_free(link->sasl_mech);
    if (link->sasl_in) {
        g_byte_array_unref(link->sasl_in);
    }
    if (link->sasl_layer) {
        sasl_dispose((sasl_conn_t **)&link->sasl_layer);
    }
#endif
    g_byte_array_unref(link->out);
    g_free(link->peer);
    g_free(link);
}

static void link_fail(LinkConn *link, const char *why)
{
    g_message("link from %s: %s", link->peer, why);
    link_free(link);
}

static void link_set_events(LinkConn *link)
{
    int events = stream_events(link->stream);
    if (link->state >= LINK_READ_HEADER && link->state <= LINK_READ_SASL_DATA) {
        events |= SPICE_WATCH_EVENT_READ;
    }
    if (link->out_pos < link->out->len) {
        events |= SPICE_WATCH_EVENT_WRITE;
    }
    if (events != link->watch_events) {
        link->watch_events = events;
        event_loop_watch_update(link->watch, events);
    }
}

static void link_queue(LinkConn *link, const void *data, size_t len)
{
    g_byte_array_append(link->out, data, (guint)len);
}

static void queue_u32(LinkConn *link, uint32_t v)
{
    uint8_t b[4];
    spice_wire_put_u32(b, v);
    link_queue(link, b, 4);
}

static void queue_link_header(LinkConn *link, uint32_t size)
{
    queue_u32(link, SPICE_MAGIC);
    queue_u32(link, SPICE_VERSION_MAJOR);
    queue_u32(link, SPICE_VERSION_MINOR);
    queue_u32(link, size);
}

/* Reply with an error in the link-reply layout (zero key, no caps) and
 * close once it is written. */
static void link_send_error(LinkConn *link, uint32_t error, const char *why)
{
    g_message("link from %s refused (error %u): %s", link->peer, error, why);
    queue_link_header(link, LINK_REPLY_SIZE);
    uint8_t reply[LINK_REPLY_SIZE] = { 0 };
    spice_wire_put_u32(reply, error);
    link_queue(link, reply, sizeof(reply));
    link->state = LINK_SEND_ERROR;
}

/* Send a u32 link result after authentication. */
static void link_send_result(LinkConn *link, uint32_t result, const char *why)
{
    queue_u32(link, result);
    if (result == SPICE_LINK_ERR_OK) {
        link->state = LINK_SEND_RESULT;
    } else {
        g_message("link from %s refused (error %u): %s", link->peer, result, why);
        link->state = LINK_SEND_ERROR;
    }
}

/* With SASL on, SASL is the only mechanism offered (as the reference). */
static bool sasl_required(const LinkConn *link)
{
    return link->server->config.sasl && !link->skip_auth;
}

static void common_caps_words(const LinkConn *link, uint32_t *word0)
{
    *word0 = (1u << SPICE_COMMON_CAP_PROTOCOL_AUTH_SELECTION) |
             (1u << SPICE_COMMON_CAP_MINI_HEADER) |
             (sasl_required(link) ? 1u << SPICE_COMMON_CAP_AUTH_SASL
                                  : 1u << SPICE_COMMON_CAP_AUTH_SPICE);
}

/* Security policy of a channel type: SPICE_CHANNEL_SECURITY_* bits. */
static int channel_security(SpiceServer *s, uint8_t type)
{
    GHashTable *policy = s->config.channel_security;
    gpointer v = g_hash_table_lookup(policy, plugin_channel_type_name(type));
    if (!v) {
        v = g_hash_table_lookup(policy, "default");
    }
    return v ? GPOINTER_TO_INT(v) : SPICE_CHANNEL_SECURITY_NONE | SPICE_CHANNEL_SECURITY_SSL;
}

static void handle_link_message(LinkConn *link)
{
    SpiceServer *s = link->server;
    const char *why;
    uint32_t err = link_parse_message(link->in, link->in_len, &link->message, &why);
    if (err != SPICE_LINK_ERR_OK) {
        link_send_error(link, err, why);
        return;
    }
    LinkMessage *m = &link->message;
    link_parse_caps(link->in, m, &link->common_caps, &link->caps);

    SpiceChannel *channel = registry_find(s, m->channel_type, m->channel_id);
    if (!channel) {
        g_autofree char *msg =
            g_strdup_printf("no %s channel %u is available",
                            plugin_channel_type_name(m->channel_type), m->channel_id);
        link_send_error(link, SPICE_LINK_ERR_CHANNEL_NOT_AVAILABLE, msg);
        return;
    }
    int security = channel_security(s, m->channel_type);
    bool secure = stream_is_tls(link->stream);
    if (!secure && !(security & SPICE_CHANNEL_SECURITY_NONE)) {
        link_send_error(link, SPICE_LINK_ERR_NEED_SECURED,
                        "the channel is configured to require TLS");
        return;
    }
    if (secure && !(security & SPICE_CHANNEL_SECURITY_SSL)) {
        link_send_error(link, SPICE_LINK_ERR_NEED_UNSECURED,
                        "the channel is configured to refuse TLS");
        return;
    }

    bool sasl = sasl_required(link);
    if (sasl && !link_parse_has_cap(link->common_caps, SPICE_COMMON_CAP_PROTOCOL_AUTH_SELECTION)) {
        link_send_error(link, SPICE_LINK_ERR_VERSION_MISMATCH,
                        "SASL is required, the client only knows SPICE tickets");
        return;
    }
    g_autoptr(GError) error = NULL;
    uint8_t reply[LINK_REPLY_SIZE] = { 0 };
    /* A client that will authenticate with SASL needs no RSA key. */
    bool want_key = !sasl || !link_parse_has_cap(link->common_caps, SPICE_COMMON_CAP_AUTH_SASL);
    if (want_key) {
        link->key = auth_key_pool_take(s->keys, &error);
    }
    if (want_key && (!link->key || !auth_key_public_der(link->key, reply + 4))) {
        g_warning("link from %s: %s", link->peer,
                  error ? error->message : "RSA public key has an unexpected size");
        link_send_error(link, SPICE_LINK_ERR_ERROR, "no RSA key for the ticket");
        return;
    }
    uint32_t ncommon = 1;
    uint32_t nchannel = channel->caps->len;
    spice_wire_put_u32(reply + 4 + LINK_PUBKEY_SIZE, ncommon);
    spice_wire_put_u32(reply + 8 + LINK_PUBKEY_SIZE, nchannel);
    spice_wire_put_u32(reply + 12 + LINK_PUBKEY_SIZE, LINK_REPLY_SIZE);
    queue_link_header(link, LINK_REPLY_SIZE + 4 * (ncommon + nchannel));
    link_queue(link, reply, sizeof(reply));
    uint32_t word0;
    common_caps_words(link, &word0);
    queue_u32(link, word0);
    for (uint32_t i = 0; i < nchannel; i++) {
        queue_u32(link, g_array_index(channel->caps, uint32_t, i));
    }

    if (link_parse_has_cap(link->common_caps, SPICE_COMMON_CAP_PROTOCOL_AUTH_SELECTION)) {
        link->state = LINK_READ_AUTH_MECHANISM;
        link->in_need = 4;
    } else {
        link->state = LINK_READ_TICKET;
        link->in_need = LINK_TICKET_SIZE;
    }
    link->in_len = 0;
}

#ifdef HAVE_SASL
/* End the link from inside a step (the caller still holds it): what is
 * queued goes out, then the connection closes. */
static void link_end(LinkConn *link, const char *why)
{
    g_message("link from %s: %s", link->peer, why);
    link->state = LINK_SEND_ERROR;
}

static void link_sasl_begin(LinkConn *link)
{
    const char *mechlist = NULL;
    int bits = 0;
    SSL *ssl = stream_ssl(link->stream);
    if (ssl) {
        bits = SSL_get_cipher_bits(ssl, NULL);
    }
    link->sasl = sasl_auth_new(link->info, bits, &mechlist);
    if (!link->sasl) {
        link_send_result(link, SPICE_LINK_ERR_ERROR, "SASL cannot serve this link");
        return;
    }
    g_debug("link from %s: SASL mechanisms %s", link->peer, mechlist);
    queue_u32(link, (uint32_t)strlen(mechlist));
    link_queue(link, mechlist, strlen(mechlist));
    link->state = LINK_READ_SASL_MECHNAME_LEN;
    link->in_need = 4;
    link->in_len = 0;
}

/* Authenticated: SASL's OK goes out plain; once it is written the
 * security layer (if any) wraps the stream and the link result follows,
 * through it (the reference's order, which spice-gtk reads). */
static void link_sasl_done(LinkConn *link)
{
    const char *user = sasl_auth_username(link->sasl);
    g_debug("link from %s: SASL authentication of %s complete", link->peer, user ? user : "?");
    link->sasl_layer = sasl_auth_take_layer(link->sasl);
    queue_u32(link, SPICE_LINK_ERR_OK);
    link->state = LINK_SEND_SASL_OK;
}

/* The link result after SASL: the session check the ticket path makes. */
static void link_sasl_result(LinkConn *link)
{
    SpiceServer *s = link->server;
    LinkMessage *m = &link->message;
    if (link->sasl_layer) {
        stream_sasl_layer(link->stream, link->sasl_layer);
        link->sasl_layer = NULL;
    }
    if (m->channel_type != SPICE_CHANNEL_MAIN) {
        if (!s->client || s->client->session_id != m->connection_id) {
            g_autofree char *why =
                g_strdup_printf("connection id %08x matches no session", m->connection_id);
            link_send_result(link, SPICE_LINK_ERR_BAD_CONNECTION_ID, why);
            return;
        }
        link->session_id = s->client->session_id;
    }
    link_send_result(link, SPICE_LINK_ERR_OK, NULL);
}

static void link_sasl_step(LinkConn *link)
{
    const char *out = NULL, *why = NULL;
    unsigned out_len = 0;
    uint8_t *data = link->sasl_in ? link->sasl_in->data : NULL;
    uint32_t len = link->sasl_in ? link->sasl_in->len : 0;
    SaslAuthResult r = sasl_auth_step(link->sasl, link->sasl_mech, data, len, &out, &out_len, &why);
    g_clear_pointer(&link->sasl_mech, g_free);
    if (link->sasl_in) {
        g_byte_array_set_size(link->sasl_in, 0);
    }
    if (r == SASL_AUTH_FAILED) {
        /* As the reference: the connection just ends. */
        g_autofree char *msg = g_strdup_printf("SASL authentication failed: %s", why);
        link_end(link, msg);
        return;
    }
    /* The server's data with its NUL, then "complete". */
    queue_u32(link, out_len ? out_len + 1 : 0);
    if (out_len) {
        link_queue(link, out, out_len);
        link_queue(link, "", 1);
    }
    uint8_t complete = r == SASL_AUTH_CONTINUE ? 0 : 1;
    link_queue(link, &complete, 1);
    if (r == SASL_AUTH_CONTINUE) {
        link->state = LINK_READ_SASL_DATA_LEN;
        link->in_need = 4;
        link->in_len = 0;
        return;
    }
    if (r == SASL_AUTH_WEAK) {
        static const char failed[] = "Authentication failed";
        g_message("link from %s refused: %s", link->peer, why);
        queue_u32(link, 1);
        queue_u32(link, sizeof(failed));
        link_queue(link, failed, sizeof(failed));
        link->state = LINK_SEND_ERROR;
        return;
    }
    link_sasl_done(link);
}

/* A SASL length or name or step is complete. */
static void sasl_read_step(LinkConn *link)
{
    switch (link->state) {
    case LINK_READ_SASL_MECHNAME_LEN: {
        uint32_t n = spice_wire_get_u32(link->in);
        if (n < 1 || n > SASL_AUTH_MAX_MECHNAME) {
            link_end(link, "SASL mechanism name of a length no mechanism has");
            return;
        }
        link->state = LINK_READ_SASL_MECHNAME;
        link->in_need = n;
        link->in_len = 0;
        return;
    }
    case LINK_READ_SASL_MECHNAME: {
        g_autofree char *mech = g_strndup((const char *)link->in, link->in_len);
        if (strlen(mech) != link->in_len || !sasl_auth_offers(link->sasl, mech)) {
            link_send_result(link, SPICE_LINK_ERR_INVALID_DATA,
                             "the client chose a SASL mechanism that was not offered");
            return;
        }
        link->sasl_mech = g_steal_pointer(&mech);
        link->state = LINK_READ_SASL_DATA_LEN;
        link->in_need = 4;
        link->in_len = 0;
        return;
    }
    case LINK_READ_SASL_DATA_LEN: {
        uint32_t n = spice_wire_get_u32(link->in);
        if (n > SASL_AUTH_MAX_DATA) {
            if (link->sasl_mech) {
                link_send_result(link, SPICE_LINK_ERR_INVALID_DATA, "SASL step over 1 MiB");
            } else {
                link_end(link, "SASL step over 1 MiB");
            }
            return;
        }
        if (n == 0) {
            link_sasl_step(link);
            return;
        }
        if (!link->sasl_in) {
            link->sasl_in = g_byte_array_new();
        }
        link->state = LINK_READ_SASL_DATA;
        link->in_need = n;
        link->in_len = 0;
        return;
    }
    case LINK_READ_SASL_DATA:
        link_sasl_step(link);
        return;
    default:
        return;
    }
}
#endif

static void handle_auth_mechanism(LinkConn *link)
{
    uint32_t mechanism = spice_wire_get_u32(link->in);
#ifdef HAVE_SASL
    if (sasl_required(link)) {
        if (mechanism == SPICE_COMMON_CAP_AUTH_SASL) {
            link_sasl_begin(link);
        } else {
            link_send_result(link, SPICE_LINK_ERR_INVALID_DATA,
                             "SASL is required, the client chose SPICE tickets");
        }
        return;
    }
#endif
    if (mechanism == SPICE_COMMON_CAP_AUTH_SPICE) {
        link->state = LINK_READ_TICKET;
        link->in_need = LINK_TICKET_SIZE;
        link->in_len = 0;
        return;
    }
    link_send_result(link, SPICE_LINK_ERR_INVALID_DATA,
                     mechanism == SPICE_COMMON_CAP_AUTH_SASL
                         ? "client asked for SASL, which this server does not offer"
                         : "unknown authentication mechanism");
}

/*
 * spice-html5 writes its RSA ciphertext as the hex digits of a big
 * number, dropping leading zero bytes: about one ticket in 256 arrives
 * shifted left, its last bytes zero, and does not decrypt (the reference
 * refuses that channel with PERMISSION_DENIED, and the browser shows an
 * error). When the ticket does not decrypt and ends in zeros, it is tried
 * again shifted back by one and two bytes. Only the ciphertext's position
 * changes; the password inside is checked as always.
 */
static bool link_decrypt_ticket(LinkConn *link, char *password, size_t size)
{
    if (auth_key_decrypt_ticket(link->key, link->in, LINK_TICKET_SIZE, password, size)) {
        return true;
    }
    uint8_t shifted[LINK_TICKET_SIZE];
    for (size_t k = 1; k <= 2 && link->in[LINK_TICKET_SIZE - k] == 0; k++) {
        memset(shifted, 0, k);
        memcpy(shifted + k, link->in, LINK_TICKET_SIZE - k);
        if (auth_key_decrypt_ticket(link->key, shifted, LINK_TICKET_SIZE, password, size)) {
            g_debug("link from %s: the ticket came without its %zu leading zero byte%s", link->peer,
                    k, k > 1 ? "s" : "");
            return true;
        }
    }
    return false;
}

static void handle_ticket(LinkConn *link)
{
    SpiceServer *s = link->server;
    char password[LINK_TICKET_SIZE + 1];
    if (!link_decrypt_ticket(link, password, sizeof(password))) {
        link_send_result(link, SPICE_LINK_ERR_PERMISSION_DENIED, "cannot decrypt the ticket");
        return;
    }
    const char *denied = server_config_check_ticket(s, password, link->skip_auth);
    memset(password, 0, sizeof(password));
    auth_key_free(link->key);
    link->key = NULL;
    if (denied) {
        link_send_result(link, SPICE_LINK_ERR_PERMISSION_DENIED, denied);
        return;
    }
    LinkMessage *m = &link->message;
    if (m->channel_type != SPICE_CHANNEL_MAIN) {
        SpiceClient *client = s->client;
        if (!client || client->session_id != m->connection_id) {
            g_autofree char *why =
                g_strdup_printf("connection id %08x matches no session", m->connection_id);
            link_send_result(link, SPICE_LINK_ERR_BAD_CONNECTION_ID, why);
            return;
        }
        link->session_id = client->session_id;
    }
    if (!registry_find(s, m->channel_type, m->channel_id)) {
        link_send_result(link, SPICE_LINK_ERR_CHANNEL_NOT_AVAILABLE,
                         "the channel went away during the link");
        return;
    }
    link_send_result(link, SPICE_LINK_ERR_OK, NULL);
}

/* The result was written: give the socket to a channel client. */
static void link_hand_off(LinkConn *link)
{
    SpiceServer *s = link->server;
    LinkMessage *m = &link->message;
    SpiceChannel *channel = registry_find(s, m->channel_type, m->channel_id);
    SpiceClient *client;
    if (!channel) {
        link_fail(link, "the channel went away during the link");
        return;
    }
    if (m->channel_type == SPICE_CHANNEL_MAIN) {
        client = client_new(s);
    } else {
        client = s->client;
        if (!client || client->session_id != link->session_id) {
            link_fail(link, "the session ended during the link");
            return;
        }
    }
    ChannelClientParams params = {
        .stream = link->stream,
        .info = link->info,
        .common_caps = link->common_caps,
        .caps = link->caps,
    };
    link->stream = NULL;
    link->info = NULL;
    link->common_caps = NULL;
    link->caps = NULL;
    link_free(link);
    channel_client_create(s, channel, client, &params);
}

/* A step's bytes are complete. */
static void link_step(LinkConn *link)
{
    const char *why;
    switch (link->state) {
    case LINK_READ_HEADER: {
        if (link->in_len == LINK_MAGIC_SIZE && !link->websocket &&
            memcmp(link->in, "GET ", LINK_MAGIC_SIZE) == 0) {
            link->state = LINK_READ_HTTP;
            link->http = g_byte_array_sized_new(1024);
            g_byte_array_append(link->http, link->in, LINK_MAGIC_SIZE);
            return;
        }
        if (link->in_len == LINK_MAGIC_SIZE) {
            uint32_t err = link_parse_magic(link->in, link->in_len, &why);
            if (err != SPICE_LINK_ERR_OK) {
                link_send_error(link, err, why);
                return;
            }
            link->in_need = LINK_HEADER_SIZE;
            return;
        }
        uint32_t err = link_parse_header(link->in, link->in_len, &link->header, &why);
        if (err != SPICE_LINK_ERR_OK) {
            link_send_error(link, err, why);
            return;
        }
        link->state = LINK_READ_MESSAGE;
        link->in_need = link->header.size;
        link->in_len = 0;
        return;
    }
    case LINK_READ_MESSAGE:
        handle_link_message(link);
        return;
    case LINK_READ_AUTH_MECHANISM:
        handle_auth_mechanism(link);
        return;
    case LINK_READ_TICKET:
        handle_ticket(link);
        return;
#ifdef HAVE_SASL
    case LINK_READ_SASL_MECHNAME_LEN:
    case LINK_READ_SASL_MECHNAME:
    case LINK_READ_SASL_DATA_LEN:
    case LINK_READ_SASL_DATA:
        sasl_read_step(link);
        return;
#endif
    default:
        return;
    }
}

/* Returns false when the link was freed. */
static bool link_write(LinkConn *link)
{
    while (link->out_pos < link->out->len) {
        ssize_t n = stream_write(link->stream, link->out->data + link->out_pos,
                                 link->out->len - link->out_pos);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return true;
            }
            g_autofree char *why = g_strdup_printf("write failed: %s", stream_error(link->stream));
            link_fail(link, why);
            return false;
        }
        link->out_pos += (size_t)n;
    }
    g_byte_array_set_size(link->out, 0);
    link->out_pos = 0;
    switch (link->state) {
    case LINK_SEND_ERROR: {
        /* What a TLS or WebSocket layer still holds goes out first. */
        int r = stream_flush(link->stream);
        if (r == 0) {
            return true;
        }
        link_free(link);
        return false;
    }
    case LINK_SEND_RESULT:
        link_hand_off(link);
        return false;
#ifdef HAVE_SASL
    case LINK_SEND_SASL_OK:
        link_sasl_result(link);
        return link_write(link);
#endif
    case LINK_SEND_UPGRADE:
        stream_websocket_writes(link->stream);
        link->state = LINK_READ_HEADER;
        link->in_need = LINK_MAGIC_SIZE;
        link->in_len = 0;
        return true;
    default:
        return true;
    }
}

/* Bytes of the Upgrade request: answer it once it is whole. */
static void http_read(LinkConn *link, const uint8_t *data, size_t n)
{
    g_byte_array_append(link->http, data, (guint)n);
    WsUpgrade up;
    const char *why = NULL;
    switch (ws_parse_upgrade(link->http->data, link->http->len, &up, &why)) {
    case WS_REQUEST_INCOMPLETE:
        return;
    case WS_REQUEST_BAD:
        g_message("link from %s: bad WebSocket request: %s", link->peer, why);
        ws_bad_request_reply(link->out);
        link->state = LINK_SEND_ERROR;
        return;
    case WS_REQUEST_OK:
        break;
    }
    ws_upgrade_reply(&up, link->out);
    /* Frames the client sent at once go back to the stream, under the
     * WebSocket reader. */
    stream_unread(link->stream, link->http->data + up.request_len,
                  link->http->len - up.request_len);
    g_byte_array_unref(link->http);
    link->http = NULL;
    stream_websocket_reads(link->stream);
    link->websocket = true;
    link->state = LINK_SEND_UPGRADE;
    g_debug("link from %s: WebSocket%s", link->peer, up.binary ? " (binary)" : "");
}

/* Returns false when the link was freed. */
static bool link_read(LinkConn *link)
{
    while (link->state >= LINK_READ_HEADER && link->state <= LINK_READ_SASL_DATA) {
        uint8_t http[1024];
        bool in_http = link->state == LINK_READ_HTTP;
        uint8_t *dest = in_http ? http : link->in + link->in_len;
#ifdef HAVE_SASL
        if (link->state == LINK_READ_SASL_DATA) {
            /* Steps may be larger than link->in: their own buffer. */
            g_byte_array_set_size(link->sasl_in, (guint)link->in_need);
            dest = link->sasl_in->data + link->in_len;
        }
#endif
        size_t want = in_http ? MIN(sizeof(http), WS_MAX_REQUEST - link->http->len)
                              : link->in_need - link->in_len;
        ssize_t n = stream_read(link->stream, dest, want);
        if (n == 0) {
            link_fail(link, "client closed the connection during the link");
            return false;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return true;
            }
            g_autofree char *why = g_strdup_printf("read failed: %s", stream_error(link->stream));
            link_fail(link, why);
            return false;
        }
        if (in_http) {
            http_read(link, http, (size_t)n);
            continue;
        }
        link->in_len += (size_t)n;
        if (link->in_len == link->in_need) {
            link_step(link);
        }
    }
    return true;
}

static void link_io(int fd, int events, void *opaque)
{
    LinkConn *link = opaque;
    (void)fd;
    if (link->state == LINK_TLS_HANDSHAKE) {
        int r = stream_handshake(link->stream);
        if (r < 0) {
            link_fail(link, stream_error(link->stream));
            return;
        }
        if (r == 0) {
            link_set_events(link);
            return;
        }
        link->state = LINK_READ_HEADER;
        events |= SPICE_WATCH_EVENT_READ; /* the client may have sent its link already */
    }
    if ((events & SPICE_WATCH_EVENT_WRITE) && stream_flush(link->stream) < 0) {
        g_autofree char *why = g_strdup_printf("write failed: %s", stream_error(link->stream));
        link_fail(link, why);
        return;
    }
    for (;;) {
        if ((events & SPICE_WATCH_EVENT_READ) && !link_read(link)) {
            return;
        }
        LinkState before = link->state;
        if (!link_write(link)) {
            return;
        }
        /* Input the layers already hold, or the link's next step after
         * the 101 answer: the socket will not say so again. */
        if (link->state == before || !stream_readable(link->stream)) {
            break;
        }
        events = SPICE_WATCH_EVENT_READ;
    }
    link_set_events(link);
}

static void link_timeout(void *opaque)
{
    LinkConn *link = opaque;
    link_fail(link, "handshake did not finish in time");
}

void link_start(SpiceServer *s, int fd, bool skip_auth, bool tls)
{
    if (g_list_length(s->links) >= MAX_PENDING_LINKS) {
        LinkConn *oldest = g_list_last(s->links)->data;
        link_fail(oldest, "dropped: the oldest of too many handshakes in progress");
    }
    Stream *stream = tls ? stream_new_tls(fd, s->tls_ctx) : stream_new(fd);
    if (!stream) {
        close(fd);
        return;
    }
    LinkConn *link = g_new0(LinkConn, 1);
    link->server = s;
    link->stream = stream;
    link->skip_auth = skip_auth;
    link->state = tls ? LINK_TLS_HANDSHAKE : LINK_READ_HEADER;
    link->in_need = LINK_MAGIC_SIZE;
    link->out = g_byte_array_new();
    link->peer = net_describe_peer(fd);
    link->info = g_new0(SpiceChannelEventInfo, 1);
    net_fill_event_info(fd, link->info);
    if (tls) {
        link->info->flags |= SPICE_CHANNEL_EVENT_FLAG_TLS;
    }
    s->links = g_list_prepend(s->links, link);
    server_channel_event(s, SPICE_CHANNEL_EVENT_CONNECTED, link->info);

    link->watch_events = SPICE_WATCH_EVENT_READ;
    link->watch = event_loop_watch_new(s->loop, fd, link->watch_events, link_io, link);
    link->timer = event_loop_timer_new(s->loop, link_timeout, link);
    if (!link->watch || !link->timer) {
        link_fail(link, "the event loop refused a watch or timer");
        return;
    }
    event_loop_timer_start(link->timer, LINK_TIMEOUT_MS);
}

void link_free_all(SpiceServer *s)
{
    while (s->links) {
        link_free(s->links->data);
    }
}
