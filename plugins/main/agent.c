/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * agent.c: the guest agent relay of the main plugin.
 *
 * The guest's spice-vdagentd talks to the server through the "vdagent"
 * char device in chunks (VDIChunkHeader {u32 port, u32 size}, at most
 * VD_AGENT_MAX_DATA_SIZE bytes of payload); the client talks through the
 * main channel's AGENT_DATA messages (at most 2048 bytes each). Both
 * carry the same stream of VDAgentMessages {u32 protocol, u32 type, u64
 * opaque, u32 size, data}: a message starts at the start of a chunk or
 * AGENT_DATA, its header whole, and continues in the following ones.
 *
 * Checked, in both directions, for every message: the protocol, and that
 * no piece runs past the message's announced size (CVE-2017-7506 was a
 * MONITORS_CONFIG whose num_of_monitors lied about its size: that is
 * checked against the size before anything is forwarded). A client that
 * breaks the rules is disconnected; an agent that does is ignored until
 * the host adds it again.
 *
 * Filtered, as the reference does: clipboard messages both ways while
 * spice_server_set_agent_copypaste is off (the agent's capabilities then
 * lose the clipboard bits), file transfer while set_agent_file_xfer is
 * off (the capabilities gain FILE_XFER_DISABLED, and a client's
 * FILE_XFER_START gets FILE_XFER_STATUS DISABLED back).
 *
 * Flow: the client has AGENT_CLIENT_TOKENS tokens, one per AGENT_DATA; a
 * token goes back (AGENT_TOKEN, in batches of a quarter of them) once
 * its data is written to the device, so at most that many chunks
 * (128 KiB) wait for the guest. The reference grants 10: a file transfer
 * then waits on token round trips, at about a quarter of the speed.
 * The server spends the tokens the client grants (AGENT_START,
 * AGENT_TOKEN) one per AGENT_DATA, and reads the device only while it
 * has one and the client's queue has room. With no client, what the agent
 * sends is read and dropped, so the agent never blocks.
 *
 * Threads: the host's thread, like the rest of the main plugin.
 */
#include "agent.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/protocol.h>
#include <spice/vd_agent.h>

#include "spice-plugin-wire.h"

#include "../common/chardev.h"

#define PIECE_MAX    VD_AGENT_MAX_DATA_SIZE
#define MSG_HEADER   20 /* sizeof(VDAgentMessage) */
#define CHUNK_HEADER 8  /* sizeof(VDIChunkHeader) */
#define TOKEN_BATCH  (AGENT_CLIENT_TOKENS / 4)
#define RETRY_MS     100
#define MAX_MONITORS 256
#define MON_CONFIG   20 /* sizeof(VDAgentMonConfig) */
#define MON_PHYSICAL 4  /* sizeof(VDAgentMonitorMM) */

typedef enum { PASS, DROP, BAD, TO_DISPLAYS } Verdict;

/* Where one direction's stream stands between messages. */
typedef struct Filter {
    uint32_t left; /* bytes of the current message still to come */
    Verdict verdict;
} Filter;

typedef struct Chunk {
    uint32_t size; /* header + payload */
    uint32_t done;
    bool client_token; /* returns a client token once written */
    bool mouse;        /* a VD_AGENT_MOUSE_STATE: a newer one replaces it */
    uint8_t data[];
} Chunk;

struct Agent {
    SpicePlugin *plugin;
    const SpiceHostServices *host;
    SpiceCharDeviceInstance *sin;
    const SpiceCharDeviceInterface *sif;
    bool broken; /* the agent broke the protocol: ignored until re-added */

    SpiceChannelClient *cc; /* the main channel's client, or NULL */
    bool started;           /* AGENT_START seen from it */
    uint32_t send_tokens;   /* AGENT_DATA we may send it */
    uint32_t in_flight;     /* its AGENT_DATA not yet written to the device */
    uint32_t owed;          /* tokens to return to it */
    Filter from_client;
    Filter from_agent;

    GQueue to_device; /* Chunk* */
    SpicePluginTimer *retry;

    /* the displays ("spice.display"): id -> takes the client's monitors
     * config; and a MONITORS_CONFIG being gathered for them */
    GHashTable *displays;
    SpiceTopicSubscription *displays_sub;
    GByteArray *monitors;
    SpiceTopicSubscription *mouse_sub; /* "spice.agent-mouse" */
    bool published;                    /* "spice.agent" holds a value */

    /* the chunk being read from the device */
    uint8_t header[CHUNK_HEADER];
    uint32_t header_got;
    uint32_t port;
    uint32_t chunk_size;
    uint32_t chunk_got;
    uint8_t piece[PIECE_MAX];
    bool piece_ready; /* piece holds a whole chunk for the client */
};

static bool copypaste(const Agent *a)
{
    return a->host->server_get_int(a->plugin, SPICE_SERVER_INT_AGENT_COPYPASTE) != 0;
}

static bool file_xfer(const Agent *a)
{
    return a->host->server_get_int(a->plugin, SPICE_SERVER_INT_AGENT_FILE_XFER) != 0;
}

static bool is_clipboard(uint32_t type)
{
    return type == VD_AGENT_CLIPBOARD || type == VD_AGENT_CLIPBOARD_GRAB ||
           type == VD_AGENT_CLIPBOARD_REQUEST || type == VD_AGENT_CLIPBOARD_RELEASE;
}

static bool is_file_xfer(uint32_t type)
{
    return type == VD_AGENT_FILE_XFER_START || type == VD_AGENT_FILE_XFER_STATUS ||
           type == VD_AGENT_FILE_XFER_DATA;
}

/* ---- the device ------------------------------------------------------------------- */

static void device_flush(Agent *a);

static void retry_flush(void *opaque)
{
    device_flush(opaque);
}

/* Tokens the client's data used, back to it in batches: the client
 * still holds at least three quarters of them, so it never waits. */
static void return_tokens(Agent *a)
{
    if (!a->cc) {
        a->owed = 0;
        return;
    }
    if (a->owed >= TOKEN_BATCH) {
        uint8_t body[4];
        spice_wire_put_u32(body, a->owed);
        a->host->channel_client_send(a->cc, SPICE_MSG_MAIN_AGENT_TOKEN, body, sizeof(body));
        a->owed = 0;
    }
}

static void token_done(Agent *a)
{
    if (a->in_flight) {
        a->in_flight--;
    }
    a->owed++;
}

static void drop_to_device(Agent *a)
{
    Chunk *c;
    while ((c = g_queue_pop_head(&a->to_device))) {
        free(c);
    }
}

static void device_flush(Agent *a)
{
    Chunk *c;
    while (a->sin && !a->broken && (c = g_queue_peek_head(&a->to_device))) {
        int n = a->sif->write(a->sin, c->data + c->done, (int)(c->size - c->done));
        if (n < 0) {
            a->host->log(a->plugin, SPICE_PLUGIN_LOG_WARNING,
                         "agent: the device refused a write (%d)", n);
            break;
        }
        c->done += (uint32_t)n;
        if (c->done < c->size) {
            if (!chardev_notifies_writable(a->sif)) {
                a->host->timer_start(a->retry, RETRY_MS);
            }
            break;
        }
        if (c->client_token) {
            token_done(a);
        }
        free(g_queue_pop_head(&a->to_device));
    }
    return_tokens(a);
}

/* Queue one chunk for the device: header (port) then payload. */
static bool device_queue(Agent *a, uint32_t port, const uint8_t *payload, uint32_t size,
                         bool client_token)
{
    Chunk *c = malloc(sizeof(*c) + CHUNK_HEADER + size);
    if (!c) {
        return false;
    }
    c->size = CHUNK_HEADER + size;
    c->done = 0;
    c->client_token = client_token;
    c->mouse = false;
    spice_wire_put_u32(c->data, port);
    spice_wire_put_u32(c->data + 4, size);
    memcpy(c->data + CHUNK_HEADER, payload, size);
    g_queue_push_tail(&a->to_device, c);
    return true;
}

/* A message of the server's own to the agent (no data). */
static void device_send_message(Agent *a, uint32_t type)
{
    uint8_t msg[MSG_HEADER] = { 0 };
    spice_wire_put_u32(msg, VD_AGENT_PROTOCOL);
    spice_wire_put_u32(msg + 4, type);
    device_queue(a, VDP_SERVER_PORT, msg, sizeof(msg), false);
    device_flush(a);
}

/* Say on "spice.agent" whether an agent is there to take the pointer. */
static void publish_agent(Agent *a)
{
    bool connected = a->sin && !a->broken;
    if (connected == a->published) {
        return;
    }
    a->published = connected;
    SpiceAgentInfo info = { .size = sizeof(info), .connected = 1 };
    a->host->topic_publish(a->plugin, SPICE_TOPIC_AGENT, 0, connected ? &info : NULL,
                           connected ? sizeof(info) : 0, SPICE_TOPIC_RETAIN);
}

/* The client's pointer (client mouse mode): VD_AGENT_MOUSE_STATE on the
 * server's port. A state the agent has not started reading yet is
 * replaced by the newer one, so a slow agent costs one chunk. */
static void on_agent_mouse(SpicePlugin *plugin, const char *topic, uint32_t key,
                           const void *payload, uint32_t size, void *opaque)
{
    (void)plugin, (void)topic, (void)key, (void)size;
    Agent *a = opaque;
    const SpiceAgentMouseState *m = payload;
    if (!a->sin || a->broken || !m || !SPICE_PAYLOAD_HAS(m, SpiceAgentMouseState, display_id)) {
        return;
    }
    uint8_t msg[MSG_HEADER + 13] = { 0 };
    spice_wire_put_u32(msg, VD_AGENT_PROTOCOL);
    spice_wire_put_u32(msg + 4, VD_AGENT_MOUSE_STATE);
    spice_wire_put_u32(msg + 16, 13);
    spice_wire_put_u32(msg + MSG_HEADER, m->x);
    spice_wire_put_u32(msg + MSG_HEADER + 4, m->y);
    spice_wire_put_u32(msg + MSG_HEADER + 8, m->buttons);
    msg[MSG_HEADER + 12] = (uint8_t)m->display_id;
    Chunk *last = g_queue_peek_tail(&a->to_device);
    if (last && last->mouse && last->done == 0) {
        memcpy(last->data + CHUNK_HEADER, msg, sizeof(msg));
        return;
    }
    if (device_queue(a, VDP_SERVER_PORT, msg, sizeof(msg), false)) {
        ((Chunk *)g_queue_peek_tail(&a->to_device))->mouse = true;
    }
    device_flush(a);
}

/* ---- message checks --------------------------------------------------------------- */

/* A MONITORS_CONFIG whose first piece is `data` (header included) and
 * whose message is `size` bytes: its monitors must fit (CVE-2017-7506). */
/* Whether there are displays and every one's device takes the client's
 * monitors config (then the agent does not get it, as in the reference). */
static bool displays_take_config(const Agent *a)
{
    if (g_hash_table_size(a->displays) == 0) {
        return false;
    }
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, a->displays);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        if (!GPOINTER_TO_INT(value)) {
            return false;
        }
    }
    return true;
}

static void on_display(SpicePlugin *plugin, const char *topic, uint32_t key, const void *payload,
                       uint32_t size, void *opaque)
{
    (void)plugin, (void)topic, (void)size;
    Agent *a = opaque;
    const SpiceDisplayInfo *info = payload;
    if (!info) {
        g_hash_table_remove(a->displays, GUINT_TO_POINTER(key));
        return;
    }
    bool takes = SPICE_PAYLOAD_HAS(info, SpiceDisplayInfo, client_monitors_config) &&
                 info->client_monitors_config;
    g_hash_table_insert(a->displays, GUINT_TO_POINTER(key), GINT_TO_POINTER(takes));
}

static bool monitors_config_fits(const uint8_t *data, uint32_t len, uint32_t size)
{
    if (size < 8 || len < MSG_HEADER + 8) {
        return false;
    }
    uint32_t n = spice_wire_get_u32(data + MSG_HEADER);
    uint32_t flags = spice_wire_get_u32(data + MSG_HEADER + 4);
    uint64_t per =
        MON_CONFIG + (flags & VD_AGENT_CONFIG_MONITORS_FLAG_PHYSICAL_SIZE ? MON_PHYSICAL : 0);
    return n <= MAX_MONITORS && 8 + (uint64_t)n * per <= size &&
           size <= 8 + MAX_MONITORS * (MON_CONFIG + MON_PHYSICAL);
}

/* The verdict on one piece of a stream; *type gets the type of a message
 * the piece starts (0 for a continuation). */
static Verdict filter_piece(Agent *a, Filter *f, const uint8_t *data, uint32_t len,
                            bool from_client, uint32_t *type, const char **why)
{
    *type = 0;
    if (f->left) {
        if (len > f->left) {
            *why = "a piece runs past the end of its message";
            return BAD;
        }
        f->left -= len;
        return f->verdict;
    }
    if (len < MSG_HEADER) {
        *why = "a message starts with less than its header";
        return BAD;
    }
    uint32_t protocol = spice_wire_get_u32(data);
    uint32_t size = spice_wire_get_u32(data + 16);
    *type = spice_wire_get_u32(data + 4);
    if (protocol != VD_AGENT_PROTOCOL) {
        *why = "a message of another protocol version";
        return BAD;
    }
    if (len - MSG_HEADER > size) {
        *why = "a message longer than its size";
        return BAD;
    }
    if (from_client && *type == VD_AGENT_MONITORS_CONFIG &&
        !monitors_config_fits(data, len, size)) {
        *why = "a MONITORS_CONFIG whose monitors do not fit in it";
        return BAD;
    }
    f->left = size - (len - MSG_HEADER);
    f->verdict = PASS;
    if ((is_clipboard(*type) && !copypaste(a)) || (is_file_xfer(*type) && !file_xfer(a))) {
        f->verdict = DROP;
    }
    if (from_client && *type == VD_AGENT_MONITORS_CONFIG && displays_take_config(a)) {
        f->verdict = TO_DISPLAYS;
    }
    return f->verdict;
}

/* The agent's capabilities as the client may see them. */
static void rewrite_caps(Agent *a, uint8_t *piece, uint32_t len)
{
    uint32_t words = (len - MSG_HEADER - 4) / 4;
    uint8_t *caps = piece + MSG_HEADER + 4;
    for (uint32_t w = 0; w < words; w++) {
        uint32_t v = spice_wire_get_u32(caps + 4 * w);
        for (uint32_t bit = 0; bit < 32; bit++) {
            uint32_t cap = 32 * w + bit;
            bool clip = cap == VD_AGENT_CAP_CLIPBOARD || cap == VD_AGENT_CAP_CLIPBOARD_BY_DEMAND ||
                        cap == VD_AGENT_CAP_CLIPBOARD_SELECTION;
            if (clip && !copypaste(a)) {
                v &= ~(1u << bit);
            }
            if (cap == VD_AGENT_CAP_FILE_XFER_DISABLED && !file_xfer(a)) {
                v |= 1u << bit;
            }
        }
        spice_wire_put_u32(caps + 4 * w, v);
    }
}

/* ---- toward the client ------------------------------------------------------------ */

static void send_connected(Agent *a)
{
    if (a->host->channel_client_test_cap(a->cc, SPICE_MAIN_CAP_AGENT_CONNECTED_TOKENS)) {
        uint8_t body[4];
        spice_wire_put_u32(body, AGENT_CLIENT_TOKENS);
        a->host->channel_client_send(a->cc, SPICE_MSG_MAIN_AGENT_CONNECTED_TOKENS, body, 4);
    } else {
        a->host->channel_client_send(a->cc, SPICE_MSG_MAIN_AGENT_CONNECTED, NULL, 0);
    }
}

static void send_to_client(Agent *a, const uint8_t *data, uint32_t len)
{
    a->host->channel_client_send(a->cc, SPICE_MSG_MAIN_AGENT_DATA, data, len);
    a->send_tokens--;
}

/* A FILE_XFER_STATUS DISABLED for the client's transfer id. */
static void refuse_file_xfer(Agent *a, const uint8_t *start, uint32_t len)
{
    if (len < MSG_HEADER + 4 || !a->started || !a->send_tokens) {
        return;
    }
    uint8_t msg[MSG_HEADER + 8] = { 0 };
    spice_wire_put_u32(msg, VD_AGENT_PROTOCOL);
    spice_wire_put_u32(msg + 4, VD_AGENT_FILE_XFER_STATUS);
    spice_wire_put_u32(msg + 16, 8);
    memcpy(msg + MSG_HEADER, start + MSG_HEADER, 4); /* the id */
    spice_wire_put_u32(msg + MSG_HEADER + 4, VD_AGENT_FILE_XFER_STATUS_DISABLED);
    send_to_client(a, msg, sizeof(msg));
}

/* ---- from the device -------------------------------------------------------------- */

static void agent_broken(Agent *a, const char *why)
{
    a->host->log(a->plugin, SPICE_PLUGIN_LOG_WARNING,
                 "agent: %s; the guest agent is ignored until it reconnects", why);
    a->broken = true;
    drop_to_device(a);
    publish_agent(a);
    if (a->cc) {
        uint8_t body[4] = { 0 };
        a->host->channel_client_send(a->cc, SPICE_MSG_MAIN_AGENT_DISCONNECTED, body, 4);
        a->started = false;
    }
}

/* The whole chunk is in a->piece: decide, and mark it for the client. */
static void chunk_read(Agent *a)
{
    if (a->port != VDP_CLIENT_PORT) {
        return; /* for the server: nothing the agent says there is used yet */
    }
    uint32_t type;
    const char *why = NULL;
    Verdict v = filter_piece(a, &a->from_agent, a->piece, a->chunk_size, false, &type, &why);
    if (v == BAD) {
        agent_broken(a, why);
        return;
    }
    if (type == VD_AGENT_ANNOUNCE_CAPABILITIES && a->chunk_size >= MSG_HEADER + 4) {
        rewrite_caps(a, a->piece, a->chunk_size);
    }
    a->piece_ready = v == PASS && a->cc && a->started;
}

static void device_read(Agent *a)
{
    while (a->sin && !a->broken) {
        if (a->piece_ready) {
            if (!a->cc || !a->started) {
                a->piece_ready = false;
            } else if (!a->send_tokens || !a->host->channel_client_can_send(a->cc)) {
                if (a->send_tokens) {
                    a->host->channel_client_want_produce(a->cc);
                }
                return;
            } else {
                send_to_client(a, a->piece, a->chunk_size);
                a->piece_ready = false;
            }
            a->header_got = 0;
            continue;
        }
        if (a->header_got < CHUNK_HEADER) {
            int n = a->sif->read(a->sin, a->header + a->header_got,
                                 (int)(CHUNK_HEADER - a->header_got));
            if (n <= 0) {
                return;
            }
            a->header_got += (uint32_t)n;
            if (a->header_got < CHUNK_HEADER) {
                continue;
            }
            a->port = spice_wire_get_u32(a->header);
            a->chunk_size = spice_wire_get_u32(a->header + 4);
            a->chunk_got = 0;
            if (a->chunk_size > PIECE_MAX || a->chunk_size == 0) {
                agent_broken(a, "a chunk of a size no agent sends");
                return;
            }
        }
        int n = a->sif->read(a->sin, a->piece + a->chunk_got, (int)(a->chunk_size - a->chunk_got));
        if (n <= 0) {
            return;
        }
        a->chunk_got += (uint32_t)n;
        if (a->chunk_got == a->chunk_size) {
            chunk_read(a);
            if (!a->piece_ready) {
                a->header_got = 0; /* dropped, or for the server */
            }
        }
    }
}

/* ---- the host's device ------------------------------------------------------------ */

Agent *agent_new(SpicePlugin *plugin, const SpiceHostServices *host)
{
    Agent *a = calloc(1, sizeof(*a));
    if (!a) {
        return NULL;
    }
    a->plugin = plugin;
    a->host = host;
    g_queue_init(&a->to_device);
    a->retry = host->timer_new(plugin, NULL, retry_flush, a);
    a->displays = g_hash_table_new(NULL, NULL);
    a->monitors = g_byte_array_new();
    a->displays_sub = host->topic_subscribe(plugin, SPICE_TOPIC_DISPLAY, NULL, on_display, a);
    a->mouse_sub = host->topic_subscribe(plugin, SPICE_TOPIC_AGENT_MOUSE, NULL, on_agent_mouse, a);
    return a;
}

void agent_free(Agent *a)
{
    if (!a) {
        return;
    }
    drop_to_device(a);
    a->host->timer_free(a->retry);
    a->host->topic_unsubscribe(a->displays_sub);
    a->host->topic_unsubscribe(a->mouse_sub);
    g_hash_table_destroy(a->displays);
    g_byte_array_unref(a->monitors);
    free(a);
}

static void reset_device_side(Agent *a)
{
    drop_to_device(a);
    a->header_got = 0;
    a->chunk_got = 0;
    a->piece_ready = false;
    a->from_agent.left = 0;
    a->from_client.left = 0;
    a->in_flight = 0;
    a->broken = false;
    a->host->timer_cancel(a->retry);
}

int agent_device_add(Agent *a, SpiceCharDeviceInstance *sin)
{
    if (a->sin) {
        a->host->log(a->plugin, SPICE_PLUGIN_LOG_WARNING,
                     "a second vdagent device is refused: one is attached");
        return -EBUSY;
    }
    const SpiceCharDeviceInterface *sif = (const SpiceCharDeviceInterface *)sin->base.sif;
    if (!sif->state || !sif->write || !sif->read) {
        a->host->log(a->plugin, SPICE_PLUGIN_LOG_WARNING,
                     "vdagent: the host's char device lacks state, write or read");
        return -EINVAL;
    }
    reset_device_side(a);
    a->sin = sin;
    a->sif = sif;
    sif->state(sin, 1);
    publish_agent(a);
    if (a->cc) {
        a->started = false;
        send_connected(a);
    }
    device_read(a);
    return 0;
}

void agent_device_remove(Agent *a)
{
    if (!a->sin) {
        return;
    }
    a->sin = NULL;
    reset_device_side(a);
    publish_agent(a);
    if (a->cc) {
        uint8_t body[4] = { 0 };
        a->host->channel_client_send(a->cc, SPICE_MSG_MAIN_AGENT_DISCONNECTED, body, 4);
        a->started = false;
        a->send_tokens = 0;
        /* Whatever it had in flight will not be written: give it back. */
        a->owed = 0;
    }
}

void agent_device_wakeup(Agent *a)
{
    device_flush(a);
    device_read(a);
}

bool agent_device_present(const Agent *a)
{
    return a->sin != NULL;
}

/* ---- the client ------------------------------------------------------------------- */

void agent_client_connected(Agent *a, SpiceChannelClient *cc)
{
    a->cc = cc;
    a->started = false;
    a->send_tokens = 0;
    a->in_flight = 0;
    a->owed = 0;
    a->from_client.left = 0;
}

void agent_client_disconnected(Agent *a)
{
    bool was_started = a->started;
    a->cc = NULL;
    a->started = false;
    a->piece_ready = false;
    if (a->sin && !a->broken && was_started) {
        /* Half a message from it must not stay in the agent's stream:
         * the agent resets its client side on this. */
        a->from_client.left = 0;
        device_send_message(a, VD_AGENT_CLIENT_DISCONNECTED);
    }
    device_read(a); /* what the agent sends now is dropped */
}

static void send_monitors_config(Agent *a)
{
    uint32_t size = (uint32_t)(sizeof(SpiceClientMonitorsConfig) + a->monitors->len);
    uint8_t *payload = g_malloc(size);
    SpiceClientMonitorsConfig mc = { .size = sizeof(mc), .config_size = a->monitors->len };
    memcpy(payload, &mc, sizeof(mc));
    memcpy(payload + sizeof(mc), a->monitors->data, a->monitors->len);
    a->host->topic_publish(a->plugin, SPICE_TOPIC_CLIENT_MONITORS_CONFIG, 0, payload, size, 0);
    g_free(payload);
    g_byte_array_set_size(a->monitors, 0);
}

static int client_data(Agent *a, const uint8_t *body, uint32_t size)
{
    if (size == 0 || size > PIECE_MAX) {
        a->host->log(a->plugin, SPICE_PLUGIN_LOG_MESSAGE,
                     "agent: client AGENT_DATA of %u bytes (1..%u allowed)", size, PIECE_MAX);
        return -EPROTO;
    }
    if (a->in_flight >= AGENT_CLIENT_TOKENS) {
        a->host->log(a->plugin, SPICE_PLUGIN_LOG_MESSAGE,
                     "agent: client sent AGENT_DATA without a token");
        return -EPROTO;
    }
    if (!a->sin || a->broken) {
        /* No agent to hear it (as the reference: dropped, unread). */
        a->owed++;
        return_tokens(a);
        return 0;
    }
    uint32_t type;
    const char *why = NULL;
    Verdict v = filter_piece(a, &a->from_client, body, size, true, &type, &why);
    if (v == BAD) {
        a->host->log(a->plugin, SPICE_PLUGIN_LOG_MESSAGE, "agent: client sent %s", why);
        return -EPROTO;
    }
    if (v == TO_DISPLAYS) {
        /* Gathered whole (at most 6 KiB, checked), then to the displays. */
        if (type) {
            g_byte_array_set_size(a->monitors, 0);
            g_byte_array_append(a->monitors, body + MSG_HEADER, size - MSG_HEADER);
        } else {
            g_byte_array_append(a->monitors, body, size);
        }
        if (a->from_client.left == 0) {
            send_monitors_config(a);
        }
        a->owed++;
        return_tokens(a);
        return 0;
    }
    if (v == DROP) {
        if (type == VD_AGENT_FILE_XFER_START && !file_xfer(a)) {
            refuse_file_xfer(a, body, size);
        }
        a->owed++;
        return_tokens(a);
        return 0;
    }
    a->in_flight++;
    if (!device_queue(a, VDP_CLIENT_PORT, body, size, true)) {
        return -ENOMEM;
    }
    device_flush(a);
    return 0;
}

int agent_client_message(Agent *a, uint16_t type, const uint8_t *body, uint32_t size)
{
    SpiceWireReader r = spice_wire_reader(body, size);
    switch (type) {
    case SPICE_MSGC_MAIN_AGENT_START: {
        uint32_t tokens = spice_wire_u32(&r);
        if (r.error) {
            return -EINVAL;
        }
        a->started = a->sin != NULL && !a->broken;
        a->send_tokens = tokens;
        device_read(a);
        return 0;
    }
    case SPICE_MSGC_MAIN_AGENT_TOKEN: {
        uint32_t tokens = spice_wire_u32(&r);
        if (r.error) {
            return -EINVAL;
        }
        a->send_tokens =
            tokens > UINT32_MAX - a->send_tokens ? UINT32_MAX : a->send_tokens + tokens;
        device_read(a);
        return 0;
    }
    case SPICE_MSGC_MAIN_AGENT_DATA:
        return client_data(a, body, size);
    default:
        return -ENOTSUP;
    }
}

void agent_client_produce(Agent *a)
{
    device_read(a);
}
