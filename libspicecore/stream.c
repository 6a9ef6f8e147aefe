/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stream.c: plain, TLS and WebSocket connections behind one interface
 * (see stream.h).
 *
 * Layers, bottom up:
 *   transport  recv/sendmsg on the socket, or SSL_read/SSL_write. TLS
 *              output goes through a staging buffer (at most
 *              TLS_STAGE bytes): the caller's iovec is gathered into
 *              it, reported written, and drained record by record, so a
 *              retried SSL_write always sees the same bytes.
 *   SASL       (on top, after a SASL mechanism with a security layer,
 *              e.g. DIGEST-MD5 on plain TCP) sasl_decode of what the
 *              layers below give, sasl_encode of at most the
 *              negotiated buffer size at a time into a stage of its own
 *   websocket  client frames decoded (websocket.c) from a read-ahead
 *              buffer; server data sent as binary frames of at most
 *              WS_OUT_FRAME bytes, pongs and the close frame only
 *              between data frames.
 */
#include "stream.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <openssl/err.h>
#ifdef HAVE_SASL
#include <sasl/sasl.h>
#endif

#include "spice-server/spice.h"

#include "tls.h"
#include "websocket.h"

#define TLS_STAGE               65536
#define WS_IN                   16384
#define WS_OUT_FRAME            65536
#define WS_OUT_IOV              64
#define WS_CLOSE_PROTOCOL_ERROR 1002
#define WS_CLOSE_NORMAL         1000

struct Stream {
    int fd;
    char error[200];
    /* bytes given back by stream_unread() */
    GByteArray *prefix;
    size_t prefix_pos;

    /* TLS */
    SSL *ssl;
    bool handshake_done;
    int handshake_events;
    bool read_wants_write;
    uint8_t *stage;
    size_t stage_len, stage_pos;
    int drain_events;

    /* WebSocket */
    bool ws_reads, ws_writes;
    WsDecoder decoder;
    uint8_t *ws_in;
    size_t ws_in_len, ws_in_pos;
    uint8_t control[2 * (10 + WS_MAX_CONTROL)];
    size_t control_len, control_pos;
    bool close_queued;  /* no data after our close frame */
    bool peer_closed;   /* reads end */
    bool out_mid_frame; /* a data frame's bytes are partly written */
    uint8_t out_header[10];
    size_t out_header_len, out_header_pos;
    uint64_t out_left;

#ifdef HAVE_SASL
    sasl_conn_t *sasl;
    unsigned sasl_max_out; /* SASL_MAXOUTBUF */
    GByteArray *sasl_in;   /* decoded, not yet read */
    size_t sasl_in_pos;
    GByteArray *sasl_out; /* encoded, not yet written */
    size_t sasl_out_pos;
#endif
};

static void set_error(Stream *st, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void set_error(Stream *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_vsnprintf(st->error, sizeof(st->error), fmt, ap);
    va_end(ap);
}

/* OpenSSL's queued errors as one line (the queue is emptied). */
static void set_tls_error(Stream *st, const char *what)
{
    char reason[160];
    tls_last_error(reason, sizeof(reason));
    set_error(st, "TLS %s failed%s%s", what, reason[0] ? ": " : "", reason);
}

Stream *stream_new(int fd)
{
    Stream *st = g_new0(Stream, 1);
    st->fd = fd;
    st->handshake_done = true;
    return st;
}

Stream *stream_new_tls(int fd, SSL_CTX *ctx)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl || !SSL_set_fd(ssl, fd)) {
        unsigned long e = ERR_get_error();
        g_warning("cannot set up TLS on a connection: %s",
                  e ? ERR_error_string(e, NULL) : "SSL_new failed");
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_accept_state(ssl);
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                          SSL_MODE_RELEASE_BUFFERS);
    Stream *st = stream_new(fd);
    st->ssl = ssl;
    st->handshake_done = false;
    st->handshake_events = SPICE_WATCH_EVENT_READ;
    return st;
}

typedef enum {
    TLS_WANT,   /* not now: *events is what the socket must become */
    TLS_EOF,    /* close_notify, or the socket's end without it */
    TLS_FAILED, /* errno: the socket's error, or EPROTO (stream_error()) */
} TlsOutcome;

/* What a failed SSL call (result r) means. */
static TlsOutcome tls_outcome(Stream *st, int r, const char *what, int *events)
{
    switch (SSL_get_error(st->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        *events = SPICE_WATCH_EVENT_READ;
        return TLS_WANT;
    case SSL_ERROR_WANT_WRITE:
        *events = SPICE_WATCH_EVENT_WRITE;
        return TLS_WANT;
    case SSL_ERROR_ZERO_RETURN:
        return TLS_EOF;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            return r == 0 || errno == 0 ? TLS_EOF : TLS_FAILED;
        }
        /* fall through */
    default:
        set_tls_error(st, what);
        errno = EPROTO;
        return TLS_FAILED;
    }
}

int stream_handshake(Stream *st)
{
    if (st->handshake_done) {
        return 1;
    }
    ERR_clear_error();
    int r = SSL_accept(st->ssl);
    if (r == 1) {
        st->handshake_done = true;
        st->handshake_events = 0;
        return 1;
    }
    switch (tls_outcome(st, r, "handshake", &st->handshake_events)) {
    case TLS_WANT:
        return 0;
    case TLS_EOF:
        set_error(st, "TLS handshake failed: the client closed the connection");
        return -1;
    default:
        if (errno != EPROTO) {
            set_error(st, "TLS handshake failed: %s", g_strerror(errno));
        }
        return -1;
    }
}

int stream_fd(const Stream *st)
{
    return st->fd;
}

bool stream_is_tls(const Stream *st)
{
    return st->ssl != NULL;
}

SSL *stream_ssl(const Stream *st)
{
    return st->ssl;
}

bool stream_read_wants_write(const Stream *st)
{
    return st->read_wants_write;
}

bool stream_is_websocket(const Stream *st)
{
    return st->ws_reads;
}

const char *stream_error(const Stream *st)
{
    return st->error[0] ? st->error : g_strerror(errno);
}

/* ---- transport --------------------------------------------------------------------- */

static ssize_t transport_read(Stream *st, void *buf, size_t len)
{
    if (st->prefix) {
        size_t n = MIN(len, st->prefix->len - st->prefix_pos);
        memcpy(buf, st->prefix->data + st->prefix_pos, n);
        st->prefix_pos += n;
        if (st->prefix_pos == st->prefix->len) {
            g_byte_array_unref(st->prefix);
            st->prefix = NULL;
            st->prefix_pos = 0;
        }
        return (ssize_t)n;
    }
    if (!st->ssl) {
        for (;;) {
            ssize_t n = recv(st->fd, buf, len, 0);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return n;
        }
    }
    if (!st->handshake_done) {
        errno = EAGAIN;
        return -1;
    }
    ERR_clear_error();
    int r = SSL_read(st->ssl, buf, (int)MIN(len, (size_t)INT_MAX));
    if (r > 0) {
        st->read_wants_write = false;
        return r;
    }
    int events = 0;
    switch (tls_outcome(st, r, "read", &events)) {
    case TLS_WANT:
        st->read_wants_write = events == SPICE_WATCH_EVENT_WRITE;
        errno = EAGAIN;
        return -1;
    case TLS_EOF:
        return 0;
    default:
        return -1;
    }
}

/* Write the staged TLS bytes: 1 all written, 0 not now, -1 error. */
static int tls_drain(Stream *st)
{
    while (st->stage_pos < st->stage_len) {
        ERR_clear_error();
        int r = SSL_write(st->ssl, st->stage + st->stage_pos, (int)(st->stage_len - st->stage_pos));
        if (r > 0) {
            st->stage_pos += (size_t)r;
            continue;
        }
        switch (tls_outcome(st, r, "write", &st->drain_events)) {
        case TLS_WANT:
            return 0;
        case TLS_EOF:
            errno = EPIPE; /* the client went: nothing more to write to */
            return -1;
        default:
            return -1;
        }
    }
    st->stage_len = st->stage_pos = 0;
    st->drain_events = 0;
    return 1;
}

static ssize_t transport_writev(Stream *st, const struct iovec *iov, int iovcnt)
{
    if (!st->ssl) {
        struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
        for (;;) {
            ssize_t n = sendmsg(st->fd, &msg, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return n;
        }
    }
    if (!st->handshake_done) {
        errno = EAGAIN;
        return -1;
    }
    if (st->stage_len) {
        int r = tls_drain(st);
        if (r <= 0) {
            if (r == 0) {
                errno = EAGAIN;
            }
            return -1;
        }
    }
    if (!st->stage) {
        st->stage = g_malloc(TLS_STAGE);
    }
    size_t k = 0;
    for (int i = 0; i < iovcnt && k < TLS_STAGE; i++) {
        size_t n = MIN(iov[i].iov_len, TLS_STAGE - k);
        memcpy(st->stage + k, iov[i].iov_base, n);
        k += n;
    }
    if (k == 0) {
        return 0;
    }
    st->stage_len = k;
    st->stage_pos = 0;
    if (tls_drain(st) < 0) {
        return -1;
    }
    return (ssize_t)k; /* taken: the rest drains from the stage */
}

/* ---- websocket --------------------------------------------------------------------- */

/* Queue a control frame (dropped when one is already under way: a newer
 * ping needs only the newest pong, RFC 6455 5.5.3). */
static void queue_control(Stream *st, uint8_t opcode, const uint8_t *payload, size_t len)
{
    if (st->close_queued || len > WS_MAX_CONTROL ||
        st->control_len + 10 + len > sizeof(st->control)) {
        return;
    }
    if (opcode == WS_OP_PONG && st->control_len > st->control_pos && st->control_pos > 0) {
        return;
    }
    size_t h = ws_frame_header(opcode, len, st->control + st->control_len);
    memcpy(st->control + st->control_len + h, payload, len);
    st->control_len += h + len;
    if (opcode == WS_OP_CLOSE) {
        st->close_queued = true;
    }
}

static void queue_close(Stream *st, uint16_t code)
{
    uint8_t payload[2] = { (uint8_t)(code >> 8), (uint8_t)code };
    queue_control(st, WS_OP_CLOSE, payload, sizeof(payload));
}

/* Control frames out, between data frames: 1 done, 0 not now, -1 error. */
static int write_control(Stream *st)
{
    if (!st->ws_writes) {
        return 0; /* the 101 answer has not gone out: nothing framed yet */
    }
    while (!st->out_mid_frame && st->control_pos < st->control_len) {
        struct iovec iov = { st->control + st->control_pos, st->control_len - st->control_pos };
        ssize_t n = transport_writev(st, &iov, 1);
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        st->control_pos += (size_t)n;
    }
    if (st->control_pos == st->control_len) {
        st->control_pos = st->control_len = 0;
        return 1;
    }
    return 0;
}

static ssize_t ws_read(Stream *st, void *buf, size_t len)
{
    if (st->peer_closed) {
        return 0;
    }
    if (!st->ws_in) {
        st->ws_in = g_malloc(WS_IN);
    }
    for (;;) {
        if (st->ws_in_pos == st->ws_in_len) {
            ssize_t n = transport_read(st, st->ws_in, WS_IN);
            if (n <= 0) {
                return n;
            }
            st->ws_in_len = (size_t)n;
            st->ws_in_pos = 0;
        }
        size_t used, got;
        const char *why = NULL;
        WsEvent ev = ws_decode(&st->decoder, st->ws_in + st->ws_in_pos,
                               st->ws_in_len - st->ws_in_pos, &used, buf, len, &got, &why);
        st->ws_in_pos += used;
        switch (ev) {
        case WS_DATA:
            return (ssize_t)got;
        case WS_NEED_MORE:
        case WS_PONG:
            continue;
        case WS_PING:
            queue_control(st, WS_OP_PONG, st->decoder.control, st->decoder.control_len);
            if (write_control(st) < 0) {
                return -1;
            }
            continue;
        case WS_CLOSE:
            if (st->decoder.control_len >= 2) {
                queue_control(st, WS_OP_CLOSE, st->decoder.control, 2);
            } else {
                queue_control(st, WS_OP_CLOSE, NULL, 0);
            }
            write_control(st);
            st->peer_closed = true;
            return 0;
        case WS_ERROR:
        default:
            set_error(st, "WebSocket: %s", why ? why : "protocol error");
            queue_close(st, WS_CLOSE_PROTOCOL_ERROR);
            write_control(st);
            errno = EPROTO;
            return -1;
        }
    }
}

static ssize_t ws_writev(Stream *st, const struct iovec *iov, int iovcnt)
{
    if (st->close_queued && !st->out_mid_frame) {
        int r = write_control(st);
        errno = r < 0 ? errno : EPIPE;
        return -1;
    }
    if (!st->out_mid_frame) {
        int r = write_control(st);
        if (r <= 0) {
            if (r == 0) {
                errno = EAGAIN;
            }
            return -1;
        }
        uint64_t total = 0;
        for (int i = 0; i < iovcnt; i++) {
            total += iov[i].iov_len;
        }
        if (total == 0) {
            return 0;
        }
        st->out_left = MIN(total, (uint64_t)WS_OUT_FRAME);
        st->out_header_len = ws_frame_header(WS_OP_BINARY, st->out_left, st->out_header);
        st->out_header_pos = 0;
        st->out_mid_frame = true;
    }
    struct iovec v[WS_OUT_IOV + 1];
    int n = 0;
    if (st->out_header_pos < st->out_header_len) {
        v[n].iov_base = st->out_header + st->out_header_pos;
        v[n].iov_len = st->out_header_len - st->out_header_pos;
        n++;
    }
    uint64_t left = st->out_left;
    for (int i = 0; i < iovcnt && left && n < WS_OUT_IOV + 1; i++) {
        size_t k = (size_t)MIN((uint64_t)iov[i].iov_len, left);
        if (k == 0) {
            continue;
        }
        v[n].iov_base = iov[i].iov_base;
        v[n].iov_len = k;
        left -= k;
        n++;
    }
    ssize_t w = transport_writev(st, v, n);
    if (w < 0) {
        return -1;
    }
    size_t header_part = MIN((size_t)w, st->out_header_len - st->out_header_pos);
    st->out_header_pos += header_part;
    size_t payload = (size_t)w - header_part;
    st->out_left -= payload;
    if (st->out_left == 0) {
        st->out_mid_frame = false;
        write_control(st); /* a pong waiting for this frame to end */
    }
    if (payload == 0) {
        errno = EAGAIN;
        return -1;
    }
    return (ssize_t)payload;
}

/* ---- below SASL: WebSocket or the transport ------------------------------------------ */

static ssize_t lower_read(Stream *st, void *buf, size_t len)
{
    return st->ws_reads ? ws_read(st, buf, len) : transport_read(st, buf, len);
}

static ssize_t lower_writev(Stream *st, const struct iovec *iov, int iovcnt)
{
    return st->ws_writes ? ws_writev(st, iov, iovcnt) : transport_writev(st, iov, iovcnt);
}

/* ---- SASL ------------------------------------------------------------------------------ */

#ifdef HAVE_SASL
void stream_sasl_layer(Stream *st, void *sasl_conn)
{
    st->sasl = sasl_conn;
    const void *v = NULL;
    st->sasl_max_out = 4096;
    if (sasl_getprop(st->sasl, SASL_MAXOUTBUF, &v) == SASL_OK && v && *(const unsigned *)v > 0) {
        st->sasl_max_out = MIN(*(const unsigned *)v, 65536u);
    }
    st->sasl_in = g_byte_array_new();
    st->sasl_out = g_byte_array_new();
}

/* Write the encoded stage: 1 done, 0 not now, -1 error. */
static int sasl_drain(Stream *st)
{
    while (st->sasl_out_pos < st->sasl_out->len) {
        struct iovec iov = { st->sasl_out->data + st->sasl_out_pos,
                             st->sasl_out->len - st->sasl_out_pos };
        ssize_t n = lower_writev(st, &iov, 1);
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        st->sasl_out_pos += (size_t)n;
    }
    g_byte_array_set_size(st->sasl_out, 0);
    st->sasl_out_pos = 0;
    return 1;
}

static ssize_t sasl_writev(Stream *st, const struct iovec *iov, int iovcnt)
{
    int r = sasl_drain(st);
    if (r <= 0) {
        if (r == 0) {
            errno = EAGAIN;
        }
        return -1;
    }
    uint8_t plain[65536];
    size_t k = 0;
    for (int i = 0; i < iovcnt && k < st->sasl_max_out; i++) {
        size_t n = MIN(iov[i].iov_len, st->sasl_max_out - k);
        memcpy(plain + k, iov[i].iov_base, n);
        k += n;
    }
    if (k == 0) {
        return 0;
    }
    const char *enc = NULL;
    unsigned enc_len = 0;
    int err = sasl_encode(st->sasl, (const char *)plain, (unsigned)k, &enc, &enc_len);
    if (err != SASL_OK) {
        set_error(st, "SASL encode failed: %s", sasl_errstring(err, NULL, NULL));
        errno = EPROTO;
        return -1;
    }
    g_byte_array_append(st->sasl_out, (const guint8 *)enc, enc_len);
    if (sasl_drain(st) < 0) {
        return -1;
    }
    return (ssize_t)k; /* taken: the rest drains from the stage */
}

static ssize_t sasl_read(Stream *st, void *buf, size_t len)
{
    for (;;) {
        if (st->sasl_in_pos < st->sasl_in->len) {
            size_t n = MIN(len, st->sasl_in->len - st->sasl_in_pos);
            memcpy(buf, st->sasl_in->data + st->sasl_in_pos, n);
            st->sasl_in_pos += n;
            if (st->sasl_in_pos == st->sasl_in->len) {
                g_byte_array_set_size(st->sasl_in, 0);
                st->sasl_in_pos = 0;
            }
            return (ssize_t)n;
        }
        uint8_t raw[8192];
        ssize_t n = lower_read(st, raw, sizeof(raw));
        if (n <= 0) {
            return n;
        }
        const char *dec = NULL;
        unsigned dec_len = 0;
        int err = sasl_decode(st->sasl, (const char *)raw, (unsigned)n, &dec, &dec_len);
        if (err != SASL_OK) {
            set_error(st, "SASL decode failed: %s", sasl_errstring(err, NULL, NULL));
            errno = EPROTO;
            return -1;
        }
        g_byte_array_append(st->sasl_in, (const guint8 *)dec, dec_len);
        /* A partial packet decodes to nothing yet: read on. */
    }
}
#endif

/* ---- the interface ----------------------------------------------------------------- */

ssize_t stream_read(Stream *st, void *buf, size_t len)
{
    st->error[0] = '\0';
    if (len == 0) {
        return 0;
    }
#ifdef HAVE_SASL
    if (st->sasl) {
        return sasl_read(st, buf, len);
    }
#endif
    return lower_read(st, buf, len);
}

ssize_t stream_writev(Stream *st, const struct iovec *iov, int iovcnt)
{
    st->error[0] = '\0';
#ifdef HAVE_SASL
    if (st->sasl) {
        return sasl_writev(st, iov, iovcnt);
    }
#endif
    return lower_writev(st, iov, iovcnt);
}

bool stream_writes_per_message(const Stream *st)
{
    return st->ssl != NULL;
}

ssize_t stream_write(Stream *st, const void *buf, size_t len)
{
    struct iovec iov = { (void *)buf, len };
    return stream_writev(st, &iov, 1);
}

int stream_flush(Stream *st)
{
#ifdef HAVE_SASL
    if (st->sasl && st->sasl_out->len) {
        int r = sasl_drain(st);
        if (r <= 0) {
            return r;
        }
    }
#endif
    if (st->ssl && st->stage_len) {
        int r = tls_drain(st);
        if (r <= 0) {
            return r;
        }
    }
    if (st->control_len && st->ws_writes) {
        return write_control(st);
    }
    return 1;
}

int stream_events(const Stream *st)
{
    int events = 0;
    if (!st->handshake_done) {
        events |= st->handshake_events;
    }
    if (st->read_wants_write) {
        events |= SPICE_WATCH_EVENT_WRITE;
    }
    if (st->stage_len) {
        events |= st->drain_events ? st->drain_events : SPICE_WATCH_EVENT_WRITE;
    }
    if (st->control_len && st->ws_writes) {
        events |= SPICE_WATCH_EVENT_WRITE;
    }
#ifdef HAVE_SASL
    if (st->sasl && st->sasl_out->len) {
        events |= SPICE_WATCH_EVENT_WRITE;
    }
#endif
    return events;
}

bool stream_readable(const Stream *st)
{
    if (st->prefix) {
        return true;
    }
#ifdef HAVE_SASL
    if (st->sasl && st->sasl_in_pos < st->sasl_in->len) {
        return true;
    }
#endif
    if (st->ws_reads && st->ws_in_pos < st->ws_in_len && !st->peer_closed) {
        return true;
    }
    return st->ssl && st->handshake_done && SSL_pending(st->ssl) > 0;
}

void stream_unread(Stream *st, const void *data, size_t len)
{
    if (len == 0) {
        return;
    }
    GByteArray *p = g_byte_array_sized_new((guint)len);
    g_byte_array_append(p, data, (guint)len);
    if (st->prefix) {
        g_byte_array_append(p, st->prefix->data + st->prefix_pos,
                            st->prefix->len - (guint)st->prefix_pos);
        g_byte_array_unref(st->prefix);
    }
    st->prefix = p;
    st->prefix_pos = 0;
}

void stream_websocket_reads(Stream *st)
{
    st->ws_reads = true;
    ws_decoder_init(&st->decoder);
}

void stream_websocket_writes(Stream *st)
{
    st->ws_writes = true;
}

void stream_shutdown(Stream *st)
{
    if (st->ws_writes && !st->close_queued && !st->out_mid_frame) {
        queue_close(st, WS_CLOSE_NORMAL);
    }
    stream_flush(st);
    if (st->ssl && st->handshake_done && !st->stage_len) {
        ERR_clear_error();
        SSL_shutdown(st->ssl); /* close_notify, not waiting for the answer */
    }
    shutdown(st->fd, SHUT_RDWR);
}

void stream_free(Stream *st)
{
    if (!st) {
        return;
    }
    if (st->ssl) {
        SSL_free(st->ssl);
        ERR_clear_error();
    }
    if (st->fd >= 0) {
        close(st->fd);
    }
    if (st->prefix) {
        g_byte_array_unref(st->prefix);
    }
    g_free(st->stage);
    g_free(st->ws_in);
#ifdef HAVE_SASL
    if (st->sasl) {
        sasl_dispose(&st->sasl);
        g_byte_array_unref(st->sasl_in);
        g_byte_array_unref(st->sasl_out);
    }
#endif
    g_free(st);
}
