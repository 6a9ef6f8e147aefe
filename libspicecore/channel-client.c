/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * channel-client.c: a client's live connection to one channel.
 *
 * Incoming bytes land in one buffer; complete messages are cut out and
 * either handled here (the base messages every channel shares: ACK_SYNC,
 * ACK, PONG, DISCONNECTING, MIGRATE_FLUSH_MARK) or passed to the plugin.
 * A message bigger than the channel's limit, an unknown type or a message
 * the plugin rejects disconnects this channel only.
 *
 * Outgoing messages wait in a queue that is written with one sendmsg()
 * per wake-up (through the connection's stream: plain, TLS or WebSocket,
 * stream.c), handling partial writes. Messages queued while the core is
 * inside a callback are written when the callback returns, so a burst
 * costs one system call. The queue has a hard limit: a client that stops
 * reading is disconnected instead of growing the server's memory.
 *
 * Lifetime: references are held by the channel's client list, the client
 * session and any pending cross-thread call. "busy" counts nested
 * callbacks; a disconnect requested inside one is finished when the
 * outermost returns.
 */
#include "channel-client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <spice/protocol.h>

#include "spice-plugin-wire.h"

#include "client.h"
#include "link-parser.h"
#include "net.h"
#include "plugin-host.h"
#include "registry.h"
#include "stream.h"

#define MINI_HEADER_SIZE  6
#define FULL_HEADER_SIZE  18
#define IN_BUF_INITIAL    4096
#define MAX_IOV           64
#define MAX_PENDING_PINGS 8
/* Reads per wake-up before yielding to other sources. */
#define MAX_READS_PER_WAKEUP 16

typedef struct OutMsg {
    uint8_t header[FULL_HEADER_SIZE];
    uint8_t header_size;
    uint8_t *body;
    uint32_t size;
    void (*free_func)(void *); /* NULL: body is inline after the struct */
} OutMsg;

typedef struct PendingPing {
    uint32_t id;
    int64_t sent_us;
} PendingPing;

struct SpiceChannelClient {
    gint refs;
    SpiceServer *server;
    SpiceChannel *channel; /* referenced */
    SpiceClient *client;   /* referenced */
    const SpiceChannelClass *klass;
    EventLoop *loop;
    Stream *stream;
    int fd; /* the stream's socket, for the watch */
    int family;
    EventLoopWatch *watch;
    int watch_events;
    SpiceChannelEventInfo *info;
    GArray *common_caps;
    GArray *caps;
    bool mini_header;
    void *plugin_data;
    char *label; /* "inputs:0 127.0.0.1:4242" for logs */

    /* incoming */
    uint8_t *in_buf;
    size_t in_len;
    size_t in_cap;
    size_t in_max; /* header + max_message_size */

    /* outgoing */
    GQueue out;        /* OutMsg* */
    size_t out_bytes;  /* bytes still to write */
    size_t out_offset; /* bytes of the head message already written */
    uint64_t out_serial;

    /* acks */
    bool acks;
    uint32_t ack_generation;
    uint32_t client_generation;
    uint32_t ack_window;
    uint32_t messages_window;

    /* pings */
    uint32_t next_ping_id;
    PendingPing pings[MAX_PENDING_PINGS];
    unsigned n_pings;

    bool want_produce;
    bool read_scheduled;   /* a read of what the stream's layers hold is queued */
    bool input_paused;     /* the plugin cannot take more messages now */
    bool input_resumed;    /* resumed inside a callback: dispatch on leave */
    bool plugin_connected; /* connect() accepted */
    bool moving;           /* between channel_client_move() and on_moved */
    void *pending_move;    /* MoveRequest waiting for the callback to end */
    bool dead;             /* disconnect requested */
    bool torn_down;
    int busy;
    char *disconnect_reason;
};

static void cc_flush(SpiceChannelClient *cc);
static void cc_fail(SpiceChannelClient *cc, const char *reason);
static void cc_dispatch_move(SpiceChannelClient *cc);
static void cc_teardown(SpiceChannelClient *cc);
static void cc_update_watch(SpiceChannelClient *cc);
static void cc_schedule_read(SpiceChannelClient *cc);
static void process_input(SpiceChannelClient *cc);

SpiceChannelClient *channel_client_ref(SpiceChannelClient *cc)
{
    g_atomic_int_inc(&cc->refs);
    return cc;
}

static void out_msg_free(OutMsg *m)
{
    if (m->free_func) {
        m->free_func(m->body);
    }
    g_free(m);
}

void channel_client_unref(SpiceChannelClient *cc)
{
    if (!g_atomic_int_dec_and_test(&cc->refs)) {
        return;
    }
    g_queue_clear_full(&cc->out, (GDestroyNotify)out_msg_free);
    stream_free(cc->stream);
    if (cc->common_caps) {
        g_array_unref(cc->common_caps);
    }
    if (cc->caps) {
        g_array_unref(cc->caps);
    }
    g_free(cc->info);
    g_free(cc->in_buf);
    g_free(cc->label);
    g_free(cc->disconnect_reason);
    if (cc->client) {
        client_unref(cc->client);
    }
    registry_channel_unref(cc->channel);
    g_free(cc);
}

/* ---- callbacks bracket -------------------------------------------------- */

static void teardown_cb(void *opaque)
{
    SpiceChannelClient *cc = opaque;
    if (!cc->torn_down && cc->busy == 0 && !cc->moving) {
        cc_teardown(cc);
    }
    channel_client_unref(cc);
}

/* Finish a disconnect on the next loop iteration: the caller may be plugin
 * code still holding cc. */
static void cc_schedule_teardown(SpiceChannelClient *cc)
{
    event_loop_invoke(cc->loop, teardown_cb, channel_client_ref(cc), false);
}

/* Leave a nested section without flushing (the caller flushes). */
static void cc_exit_quiet(SpiceChannelClient *cc)
{
    if (--cc->busy == 0 && cc->dead && !cc->moving) {
        cc_schedule_teardown(cc);
    }
}

static void cc_enter(SpiceChannelClient *cc)
{
    cc->busy++;
}

/* Leave a callback section: write what was queued, finish a disconnect
 * requested inside, or offer the plugin room to produce. Returns false
 * when the client was torn down (a reference held by the caller keeps the
 * memory valid). */
static bool cc_leave(SpiceChannelClient *cc)
{
    if (--cc->busy > 0) {
        return !cc->dead;
    }
    if (cc->input_resumed && !cc->pending_move && !cc->dead) {
        /* Messages that waited in the buffer while input was paused. */
        cc->input_resumed = false;
        cc->busy++;
        process_input(cc);
        cc->busy--;
        if (stream_readable(cc->stream)) {
            cc_schedule_read(cc); /* the socket will not wake us for it */
        }
    }
    if (cc->pending_move) {
        /* The client now belongs to its new loop: hand it over and touch
         * nothing more here (the new owner writes what is queued). */
        cc_dispatch_move(cc);
        return false;
    }
    if (cc->dead) {
        cc_teardown(cc);
        return false;
    }
    cc_flush(cc);
    if (cc->dead) {
        cc_teardown(cc);
        return false;
    }
    return true;
}

/* ---- outgoing ------------------------------------------------------------ */

static void write_header(SpiceChannelClient *cc, OutMsg *m, uint16_t type, uint32_t size)
{
    if (cc->mini_header) {
        spice_wire_put_u16(m->header, type);
        spice_wire_put_u32(m->header + 2, size);
        m->header_size = MINI_HEADER_SIZE;
    } else {
        spice_wire_put_u64(m->header, ++cc->out_serial);
        spice_wire_put_u16(m->header + 8, type);
        spice_wire_put_u32(m->header + 10, size);
        spice_wire_put_u32(m->header + 14, 0);
        m->header_size = FULL_HEADER_SIZE;
    }
}

static int cc_enqueue(SpiceChannelClient *cc, OutMsg *m, uint16_t type)
{
    if (cc->dead) {
        out_msg_free(m);
        return -EPIPE;
    }
    write_header(cc, m, type, m->size);
    size_t total = (size_t)m->header_size + m->size;
    if (cc->out_bytes + total > CC_OUT_HARD_LIMIT) {
        out_msg_free(m);
        g_autofree char *why = g_strdup_printf("outgoing queue over its limit of %u bytes: "
                                               "the client is not reading",
                                               CC_OUT_HARD_LIMIT);
        cc_fail(cc, why);
        return -ENOSPC;
    }
    g_queue_push_tail(&cc->out, m);
    cc->out_bytes += total;
    cc->messages_window++;
    if (cc->busy == 0 && !cc->moving) {
        cc_flush(cc);
    }
    return 0;
}

int channel_client_send(SpiceChannelClient *cc, uint16_t type, const void *body, uint32_t size)
{
    OutMsg *m = g_malloc(sizeof(OutMsg) + size);
    m->body = (uint8_t *)(m + 1);
    m->size = size;
    m->free_func = NULL;
    if (size) {
        memcpy(m->body, body, size);
    }
    return cc_enqueue(cc, m, type);
}

int channel_client_send_owned(SpiceChannelClient *cc, uint16_t type, void *body, uint32_t size,
                              void (*free_func)(void *))
{
    OutMsg *m = g_new(OutMsg, 1);
    m->body = body;
    m->size = size;
    m->free_func = free_func ? free_func : free;
    return cc_enqueue(cc, m, type);
}

bool channel_client_can_send(SpiceChannelClient *cc)
{
    if (cc->dead || cc->moving) {
        return false;
    }
    if (cc->acks && cc->messages_window > cc->ack_window * 2) {
        return false;
    }
    return cc->out_bytes < CC_OUT_LOW_WATER;
}

static void cc_maybe_produce(SpiceChannelClient *cc)
{
    const SpiceChannelOps *ops = cc->klass->ops;
    while (cc->want_produce && channel_client_can_send(cc) && cc->plugin_connected) {
        if (ops->version < 1 || !ops->produce) {
            cc->want_produce = false;
            return;
        }
        cc->want_produce = false;
        size_t before = cc->out_bytes;
        cc->busy++; /* writing is done by our caller's loop */
        ops->produce(cc);
        cc_exit_quiet(cc);
        if (cc->dead || cc->out_bytes == before) {
            return;
        }
    }
}

void channel_client_want_produce(SpiceChannelClient *cc)
{
    cc->want_produce = true;
    if (cc->busy == 0 && !cc->moving) {
        cc_flush(cc);
    }
}

/* Write as much of the queue as the socket takes; then let the plugin
 * produce more while there is room. */
static void cc_flush(SpiceChannelClient *cc)
{
    for (;;) {
        while (!g_queue_is_empty(&cc->out) && !cc->dead) {
            struct iovec iov[MAX_IOV];
            int n = 0;
            size_t skip = cc->out_offset;
            /* Over TLS one message per write: records end with messages. */
            int messages = stream_writes_per_message(cc->stream) ? 1 : MAX_IOV;
            for (GList *l = cc->out.head; l && n < MAX_IOV - 1 && messages-- > 0; l = l->next) {
                OutMsg *m = l->data;
                if (skip < m->header_size) {
                    iov[n].iov_base = m->header + skip;
                    iov[n].iov_len = m->header_size - skip;
                    n++;
                    skip = 0;
                } else {
                    skip -= m->header_size;
                }
                if (m->size > skip) {
                    iov[n].iov_base = m->body + skip;
                    iov[n].iov_len = m->size - skip;
                    n++;
                }
                skip = 0;
            }
            ssize_t written = stream_writev(cc->stream, iov, n);
            if (written < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    cc_update_watch(cc);
                    return;
                }
                g_autofree char *why =
                    g_strdup_printf("write failed: %s", stream_error(cc->stream));
                if (errno == EPIPE || errno == ECONNRESET) {
                    channel_client_disconnect(cc, why); /* the client went away */
                } else {
                    cc_fail(cc, why);
                }
                return;
            }
            cc->out_bytes -= (size_t)written;
            size_t left = (size_t)written + cc->out_offset;
            while (!g_queue_is_empty(&cc->out)) {
                OutMsg *m = g_queue_peek_head(&cc->out);
                size_t total = (size_t)m->header_size + m->size;
                if (left < total) {
                    break;
                }
                left -= total;
                out_msg_free(g_queue_pop_head(&cc->out));
            }
            cc->out_offset = left;
        }
        if (cc->dead) {
            return;
        }
        size_t before = cc->out_bytes;
        cc_maybe_produce(cc);
        if (cc->dead || cc->out_bytes == before) {
            break;
        }
    }
    cc_update_watch(cc);
}

/* ---- watch ------------------------------------------------------------- */

static void cc_io(int fd, int events, void *opaque);

static void cc_update_watch(SpiceChannelClient *cc)
{
    if (!cc->watch || cc->dead) {
        return;
    }
    int events = cc->input_paused ? 0 : SPICE_WATCH_EVENT_READ;
    if (!g_queue_is_empty(&cc->out)) {
        events |= SPICE_WATCH_EVENT_WRITE;
    }
    events |= stream_events(cc->stream);
    if (events != cc->watch_events) {
        cc->watch_events = events;
        event_loop_watch_update(cc->watch, events);
    }
}

static void cc_attach_watch(SpiceChannelClient *cc)
{
    cc->watch_events = cc->input_paused ? 0 : SPICE_WATCH_EVENT_READ;
    if (!g_queue_is_empty(&cc->out)) {
        cc->watch_events |= SPICE_WATCH_EVENT_WRITE;
    }
    cc->watch_events |= stream_events(cc->stream);
    cc->watch = event_loop_watch_new(cc->loop, cc->fd, cc->watch_events, cc_io, cc);
    if (!cc->watch) {
        cc_fail(cc, "the event loop refused to watch the socket");
        return;
    }
    if (stream_readable(cc->stream)) {
        cc_schedule_read(cc); /* left in the stream by the link, or before a move */
    }
}

/* ---- incoming ---------------------------------------------------------- */

static void handle_pong(SpiceChannelClient *cc, const uint8_t *body, uint32_t size)
{
    SpiceWireReader r = spice_wire_reader(body, size);
    uint32_t id = spice_wire_u32(&r);
    (void)spice_wire_u64(&r);
    if (r.error) {
        cc_fail(cc, "malformed PONG");
        return;
    }
    for (unsigned i = 0; i < cc->n_pings; i++) {
        if (cc->pings[i].id != id) {
            continue;
        }
        int64_t rtt = g_get_monotonic_time() - cc->pings[i].sent_us;
        cc->pings[i] = cc->pings[--cc->n_pings];
        const SpiceChannelOps *ops = cc->klass->ops;
        if (ops->pong) {
            ops->pong(cc, id, rtt > 0 ? (uint64_t)rtt : 0);
        }
        return;
    }
    /* A PONG for a ping we no longer track: harmless, ignore. */
}

static void dispatch_message(SpiceChannelClient *cc, uint16_t type, const uint8_t *body,
                             uint32_t size)
{
    switch (type) {
    case SPICE_MSGC_ACK_SYNC: {
        if (size < 4) {
            cc_fail(cc, "malformed ACK_SYNC");
            return;
        }
        cc->client_generation = spice_wire_get_u32(body);
        return;
    }
    case SPICE_MSGC_ACK:
        if (cc->acks && cc->client_generation == cc->ack_generation) {
            cc->messages_window =
                cc->messages_window > cc->ack_window ? cc->messages_window - cc->ack_window : 0;
        }
        return;
    case SPICE_MSGC_PONG:
        handle_pong(cc, body, size);
        return;
    case SPICE_MSGC_DISCONNECTING:
        /* The client is about to close; the socket will tell us. */
        return;
    case SPICE_MSGC_MIGRATE_FLUSH_MARK:
        return;
    case SPICE_MSGC_MIGRATE_DATA:
        cc_fail(cc, "MIGRATE_DATA without a migration in progress");
        return;
    default:
        break;
    }
    const SpiceChannelOps *ops = cc->klass->ops;
    int ret = ops->handle_message(cc, type, body, size);
    if (ret < 0 && !cc->dead) {
        g_autofree char *why =
            ret == -ENOTSUP ? g_strdup_printf("unknown message type %u (%u bytes)", type, size)
                            : g_strdup_printf("message type %u (%u bytes) rejected: %s", type, size,
                                              g_strerror(-ret));
        cc_fail(cc, why);
    }
}

/* Cut complete messages out of the input buffer and dispatch them. */
static void process_input(SpiceChannelClient *cc)
{
    size_t hsize = cc->mini_header ? MINI_HEADER_SIZE : FULL_HEADER_SIZE;
    size_t pos = 0;
    while (!cc->dead && !cc->input_paused && cc->in_len - pos >= hsize) {
        const uint8_t *h = cc->in_buf + pos;
        uint16_t type;
        uint32_t size;
        if (cc->mini_header) {
            type = spice_wire_get_u16(h);
            size = spice_wire_get_u32(h + 2);
        } else {
            type = spice_wire_get_u16(h + 8);
            size = spice_wire_get_u32(h + 10);
        }
        if (size > cc->klass->max_message_size) {
            g_autofree char *why = g_strdup_printf(
                "message type %u of %u bytes exceeds the %s channel limit of %u bytes", type, size,
                cc->klass->name, cc->klass->max_message_size);
            cc_fail(cc, why);
            return;
        }
        if (cc->in_len - pos < hsize + size) {
            /* Incomplete: make sure the buffer can hold the whole message. */
            size_t need = hsize + size;
            if (pos > 0) {
                memmove(cc->in_buf, cc->in_buf + pos, cc->in_len - pos);
                cc->in_len -= pos;
                pos = 0;
            }
            if (need > cc->in_cap) {
                cc->in_cap = need;
                cc->in_buf = g_realloc(cc->in_buf, cc->in_cap);
            }
            return;
        }
        dispatch_message(cc, type, h + hsize, size);
        pos += hsize + size;
    }
    if (pos > 0 && !cc->dead) {
        memmove(cc->in_buf, cc->in_buf + pos, cc->in_len - pos);
        cc->in_len -= pos;
    }
}

static void cc_read(SpiceChannelClient *cc)
{
    for (int i = 0; i < MAX_READS_PER_WAKEUP && !cc->dead && !cc->input_paused; i++) {
        if (cc->in_len == cc->in_cap) {
            cc->in_cap = MIN(cc->in_cap * 2, cc->in_max);
            cc->in_buf = g_realloc(cc->in_buf, cc->in_cap);
            if (cc->in_len == cc->in_cap) {
                /* Cannot happen: the buffer always has room for the
                 * message the last header announced. Never read 0 bytes
                 * and call it end of file. */
                cc_fail(cc, "internal error: input buffer full");
                return;
            }
        }
        ssize_t n = stream_read(cc->stream, cc->in_buf + cc->in_len, cc->in_cap - cc->in_len);
        if (n > 0) {
            cc->in_len += (size_t)n;
            process_input(cc);
            continue;
        }
        if (n == 0) {
            channel_client_disconnect(cc, "client closed the connection");
            return;
        }
        if (errno == ECONNRESET) {
            /* A client closing with data unread: an ordinary goodbye. */
            channel_client_disconnect(cc, "client reset the connection");
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
            g_autofree char *why = g_strdup_printf("read failed: %s", stream_error(cc->stream));
            cc_fail(cc, why);
        }
        return;
    }
    if (!cc->dead && !cc->input_paused && stream_readable(cc->stream)) {
        cc_schedule_read(cc); /* yielded with input left in the TLS or WebSocket layer */
    }
}

static void read_cb(void *opaque)
{
    SpiceChannelClient *cc = opaque;
    EventLoop *owner = g_atomic_pointer_get(&cc->loop);
    if (!event_loop_is_current(owner)) {
        /* It moved since: its new loop reads it when the watch is attached. */
        event_loop_invoke(owner, read_cb, cc, false);
        return;
    }
    cc->read_scheduled = false;
    if (!cc->dead && !cc->moving && !cc->torn_down) {
        cc_enter(cc);
        cc_read(cc);
        cc_leave(cc);
    }
    channel_client_unref(cc);
}

/* Read what the stream's layers already hold, from the loop, soon. */
static void cc_schedule_read(SpiceChannelClient *cc)
{
    if (!cc->read_scheduled) {
        cc->read_scheduled = true;
        event_loop_invoke(g_atomic_pointer_get(&cc->loop), read_cb, channel_client_ref(cc), false);
    }
}

static void cc_io(int fd, int events, void *opaque)
{
    SpiceChannelClient *cc = opaque;
    (void)fd;
    channel_client_ref(cc);
    cc_enter(cc);
    if ((events & SPICE_WATCH_EVENT_WRITE) && stream_flush(cc->stream) < 0) {
        g_autofree char *why = g_strdup_printf("write failed: %s", stream_error(cc->stream));
        cc_fail(cc, why);
    }
    /* TLS may want the socket writable to go on reading. */
    if ((events & SPICE_WATCH_EVENT_READ) ||
        ((events & SPICE_WATCH_EVENT_WRITE) && stream_read_wants_write(cc->stream))) {
        cc_read(cc);
    }
    cc_leave(cc);
    channel_client_unref(cc);
}

void channel_client_feed(SpiceChannelClient *cc, const uint8_t *data, size_t size)
{
    channel_client_ref(cc);
    cc_enter(cc);
    while (size > 0 && !cc->dead) {
        size_t room = cc->in_cap - cc->in_len;
        if (room == 0) {
            cc->in_cap = MIN(cc->in_cap * 2, cc->in_max);
            cc->in_buf = g_realloc(cc->in_buf, cc->in_cap);
            room = cc->in_cap - cc->in_len;
        }
        if (room == 0) {
            /* Paused input with a full buffer: the rest cannot be taken
             * (bytes read past the link arrive before any pause). */
            g_warning("%s: input paused with %zu bytes left to feed; dropped", cc->label, size);
            break;
        }
        size_t n = MIN(room, size);
        memcpy(cc->in_buf + cc->in_len, data, n);
        cc->in_len += n;
        data += n;
        size -= n;
        process_input(cc);
    }
    cc_leave(cc);
    channel_client_unref(cc);
}

void channel_client_pause_input(SpiceChannelClient *cc, bool paused)
{
    if (cc->dead || paused == cc->input_paused) {
        return;
    }
    cc->input_paused = paused;
    if (paused) {
        cc->input_resumed = false;
        cc_update_watch(cc);
        return;
    }
    /* What is already buffered goes first, then the socket again: once
     * the current callback (if any) has returned. */
    cc->input_resumed = true;
    if (cc->busy == 0) {
        channel_client_ref(cc);
        cc_enter(cc);
        cc_leave(cc);
        channel_client_unref(cc);
    }
}

/* ---- pings --------------------------------------------------------------- */

uint32_t channel_client_ping(SpiceChannelClient *cc, uint32_t payload_size)
{
    uint32_t id = ++cc->next_ping_id;
    if (cc->n_pings == MAX_PENDING_PINGS) {
        /* Forget the oldest: a client that never answers must not make us
         * keep state without bound. */
        memmove(cc->pings, cc->pings + 1, sizeof(cc->pings[0]) * (MAX_PENDING_PINGS - 1));
        cc->n_pings--;
    }
    int64_t now = g_get_monotonic_time();
    cc->pings[cc->n_pings].id = id;
    cc->pings[cc->n_pings].sent_us = now;
    cc->n_pings++;

    uint32_t size = 12 + payload_size;
    uint8_t *body = g_malloc0(size);
    spice_wire_put_u32(body, id);
    spice_wire_put_u64(body + 4, (uint64_t)now * 1000);
    channel_client_send_owned(cc, SPICE_MSG_PING, body, size, g_free);
    return id;
}

/* ---- creation ------------------------------------------------------------- */

static void send_set_ack(SpiceChannelClient *cc)
{
    uint8_t body[8];
    cc->ack_generation++;
    cc->ack_window = CC_ACK_WINDOW;
    spice_wire_put_u32(body, cc->ack_generation);
    spice_wire_put_u32(body + 4, cc->ack_window);
    channel_client_send(cc, SPICE_MSG_SET_ACK, body, sizeof(body));
    cc->messages_window = 0;
}

bool channel_client_create(SpiceServer *s, SpiceChannel *channel, SpiceClient *client,
                           ChannelClientParams *params)
{
    SpiceChannelClient *cc = g_new0(SpiceChannelClient, 1);
    cc->refs = 1;
    cc->server = s;
    cc->channel = registry_channel_ref(channel);
    cc->client = client_ref(client);
    cc->klass = channel->klass;
    cc->loop = s->loop;
    cc->stream = params->stream;
    cc->fd = stream_fd(cc->stream);
    cc->info = params->info;
    cc->common_caps = params->common_caps;
    cc->caps = params->caps;
    cc->mini_header = link_parse_has_cap(cc->common_caps, SPICE_COMMON_CAP_MINI_HEADER);
    cc->acks = (cc->klass->flags & SPICE_CHANNEL_CLASS_HANDLE_ACKS) != 0;
    cc->client_generation = UINT32_MAX;
    g_queue_init(&cc->out);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    cc->family = getsockname(cc->fd, (struct sockaddr *)&ss, &len) == 0 ? ss.ss_family : 0;
    g_autofree char *peer = net_describe_peer(cc->fd);
    cc->label = g_strdup_printf("%s:%u %s", cc->klass->name, channel->id, peer);

    size_t hsize = cc->mini_header ? MINI_HEADER_SIZE : FULL_HEADER_SIZE;
    cc->in_max = hsize + (size_t)cc->klass->max_message_size;
    cc->in_cap = MIN((size_t)IN_BUF_INITIAL, cc->in_max);
    cc->in_buf = g_malloc(cc->in_cap);

    cc->info->connection_id = (int)client->session_id;
    cc->info->type = channel->type;
    cc->info->id = channel->id;
    server_channel_event(s, SPICE_CHANNEL_EVENT_INITIALIZED, cc->info);

    g_mutex_lock(&channel->lock);
    channel->clients = g_list_append(channel->clients, channel_client_ref(cc));
    g_mutex_unlock(&channel->lock);
    client_add_channel_client(client, cc, channel->type == SPICE_CHANNEL_MAIN);

    g_debug("%s: connected (session %08x)", cc->label, client->session_id);

    cc_enter(cc);
    if (cc->acks) {
        send_set_ack(cc);
    }
    int ret = cc->klass->ops->connect(channel, cc);
    if (ret < 0 && !cc->dead) {
        g_autofree char *why = g_strdup_printf("channel refused the client: %s", g_strerror(-ret));
        channel_client_disconnect(cc, why);
    } else if (ret >= 0) {
        cc->plugin_connected = true;
    }
    bool alive = !cc->dead;
    if (alive && !cc->moving) {
        cc_attach_watch(cc);
    }
    cc_leave(cc);
    channel_client_unref(cc);
    return alive;
}

/* ---- moving to another loop --------------------------------------------- */

typedef struct MoveRequest {
    SpiceChannelClient *cc;
    EventLoop *target;
    void (*on_moved)(SpiceChannelClient *cc, void *opaque);
    void *opaque;
} MoveRequest;

static void move_arrive(void *opaque)
{
    MoveRequest *req = opaque;
    SpiceChannelClient *cc = req->cc;
    g_atomic_pointer_set(&cc->loop, req->target);
    cc->moving = false;
    if (!cc->dead) {
        cc_enter(cc);
        cc_attach_watch(cc);
        if (req->on_moved) {
            req->on_moved(cc, req->opaque);
        }
        cc_leave(cc);
    } else if (!cc->torn_down) {
        cc_teardown(cc);
    }
    channel_client_unref(cc);
    g_free(req);
}

static void cc_dispatch_move(SpiceChannelClient *cc)
{
    MoveRequest *req = cc->pending_move;
    cc->pending_move = NULL;
    event_loop_invoke(req->target, move_arrive, req, false);
}

void channel_client_move(SpiceChannelClient *cc, SpicePluginLoop *ploop,
                         void (*on_moved)(SpiceChannelClient *cc, void *opaque), void *opaque)
{
    EventLoop *target = plugin_host_loop_get(cc->server, ploop);
    g_return_if_fail(event_loop_is_current(cc->loop));
    g_return_if_fail(!cc->moving);
    if (target == cc->loop || cc->dead) {
        if (on_moved && !cc->dead) {
            on_moved(cc, opaque);
        }
        return;
    }
    event_loop_watch_free(cc->watch);
    cc->watch = NULL;
    cc->moving = true;
    MoveRequest *req = g_new0(MoveRequest, 1);
    req->cc = channel_client_ref(cc);
    req->target = target;
    req->on_moved = on_moved;
    req->opaque = opaque;
    cc->pending_move = req;
    /* Inside a core callback (connect() above all) the move waits until
     * the callback returns: until then this thread still uses cc. */
    if (cc->busy == 0) {
        cc_dispatch_move(cc);
    }
}

/* ---- channel events ---------------------------------------------------------- */

typedef struct CcEvent {
    SpiceChannelClient *cc;
    int event;
} CcEvent;

static void cc_event_on_host(void *opaque)
{
    CcEvent *e = opaque;
    server_channel_event(e->cc->server, e->event, e->cc->info);
    channel_client_unref(e->cc);
    g_free(e);
}

/* Hosts get channel events on their own thread: QEMU takes its global
 * lock in channel_event, which a worker must never wait for while the
 * host thread may be waiting for that worker. The info block stays alive
 * with the channel client until the event was delivered. */
static void cc_channel_event(SpiceChannelClient *cc, int event)
{
    if (event_loop_is_current(cc->server->loop)) {
        server_channel_event(cc->server, event, cc->info);
        return;
    }
    CcEvent *e = g_new0(CcEvent, 1);
    e->cc = channel_client_ref(cc);
    e->event = event;
    event_loop_invoke(cc->server->loop, cc_event_on_host, e, false);
}

/* ---- teardown ------------------------------------------------------------- */

/* The client broke the protocol or the connection failed: say so where an
 * operator sees it, then disconnect. */
static void cc_fail(SpiceChannelClient *cc, const char *reason)
{
    if (!cc->dead) {
        g_message("%s: disconnecting: %s", cc->label, reason);
    }
    channel_client_disconnect(cc, reason);
}

void channel_client_disconnect(SpiceChannelClient *cc, const char *reason)
{
    if (cc->dead) {
        return;
    }
    cc->dead = true;
    cc->disconnect_reason = g_strdup(reason ? reason : "disconnected");
    if (cc->busy == 0 && !cc->moving) {
        /* Stop reading at once; the rest happens on the next iteration. */
        cc_schedule_teardown(cc);
    }
}

typedef struct RemoveFromClient {
    SpiceClient *client;
    SpiceChannelClient *cc;
} RemoveFromClient;

static void remove_from_client_cb(void *opaque)
{
    RemoveFromClient *r = opaque;
    client_remove_channel_client(r->client, r->cc);
    channel_client_unref(r->cc);
    g_free(r);
}

static void cc_teardown(SpiceChannelClient *cc)
{
    if (cc->torn_down) {
        return;
    }
    cc->torn_down = true;
    channel_client_ref(cc);
    g_debug("%s: disconnected: %s", cc->label, cc->disconnect_reason);

    event_loop_watch_free(cc->watch);
    cc->watch = NULL;
    if (cc->plugin_connected && cc->klass->ops->disconnect) {
        cc->plugin_connected = false;
        cc->busy++;
        cc->klass->ops->disconnect(cc->channel, cc);
        cc->busy--;
    }
    stream_shutdown(cc->stream);
    g_queue_clear_full(&cc->out, (GDestroyNotify)out_msg_free);
    cc->out_bytes = 0;
    cc_channel_event(cc, SPICE_CHANNEL_EVENT_DISCONNECTED);

    SpiceChannel *channel = cc->channel;
    g_mutex_lock(&channel->lock);
    GList *link = g_list_find(channel->clients, cc);
    if (link) {
        channel->clients = g_list_delete_link(channel->clients, link);
    }
    g_mutex_unlock(&channel->lock);
    if (link) {
        channel_client_unref(cc);
    }

    /* What is left of the client (its place in the client's list) lives
     * on the host thread: the loop it ran on may be freed before the
     * client lets go of it. */
    g_atomic_pointer_set(&cc->loop, cc->server->loop);

    RemoveFromClient *r = g_new0(RemoveFromClient, 1);
    r->client = cc->client;
    r->cc = channel_client_ref(cc);
    if (event_loop_is_current(cc->server->loop)) {
        remove_from_client_cb(r);
    } else {
        event_loop_invoke(cc->server->loop, remove_from_client_cb, r, false);
    }
    channel_client_unref(cc);
}

typedef struct AsyncDisconnect {
    SpiceChannelClient *cc;
    char *reason;
} AsyncDisconnect;

static void async_disconnect_cb(void *opaque)
{
    AsyncDisconnect *d = opaque;
    EventLoop *owner = g_atomic_pointer_get(&d->cc->loop);
    if (!event_loop_is_current(owner)) {
        /* It moved to another loop since the request was queued. */
        event_loop_invoke(owner, async_disconnect_cb, d, false);
        return;
    }
    channel_client_disconnect(d->cc, d->reason);
    channel_client_unref(d->cc);
    g_free(d->reason);
    g_free(d);
}

void channel_client_disconnect_async(SpiceChannelClient *cc, const char *reason)
{
    AsyncDisconnect *d = g_new0(AsyncDisconnect, 1);
    d->cc = channel_client_ref(cc);
    d->reason = g_strdup(reason);
    /* cc->loop may change while a move is in flight; the move completes on
     * the target and a disconnect queued to the old loop is re-queued. */
    event_loop_invoke(g_atomic_pointer_get(&cc->loop), async_disconnect_cb, d, false);
}

/* ---- accessors ------------------------------------------------------------- */

void channel_client_set_data(SpiceChannelClient *cc, void *data)
{
    cc->plugin_data = data;
}

void *channel_client_get_data(SpiceChannelClient *cc)
{
    return cc->plugin_data;
}

SpiceChannel *channel_client_get_channel(SpiceChannelClient *cc)
{
    return cc->channel;
}

SpiceClient *channel_client_get_client(SpiceChannelClient *cc)
{
    return cc->client;
}

bool channel_client_test_cap(SpiceChannelClient *cc, uint32_t cap)
{
    return link_parse_has_cap(cc->caps, cap);
}

bool channel_client_test_common_cap(SpiceChannelClient *cc, uint32_t cap)
{
    return link_parse_has_cap(cc->common_caps, cap);
}

int channel_client_get_family(SpiceChannelClient *cc)
{
    return cc->family;
}

int channel_client_get_fd(SpiceChannelClient *cc)
{
    return cc->fd;
}

EventLoop *channel_client_loop(SpiceChannelClient *cc)
{
    return g_atomic_pointer_get(&cc->loop);
}
