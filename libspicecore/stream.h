/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stream.h: a client connection's byte stream, whatever carries it:
 * plain TCP (or a unix socket), TLS, and WebSocket framing over either.
 * The link and the channel clients read and write through it and never
 * touch the socket's data themselves.
 *
 * Everything is non-blocking. Reads and writes return what recv() and
 * sendmsg() would: bytes, 0 for the end of the stream, or -1 with errno
 * (EAGAIN when the socket is not ready; EPROTO for a TLS or WebSocket
 * error, described by stream_error()).
 *
 * A layer may hold bytes of its own: decrypted or decoded input that the
 * socket will not signal again (stream_readable()), and output it took
 * but has not yet written (TLS records, WebSocket control frames). The
 * owner polls for stream_events() besides its own and calls
 * stream_flush() when the socket is writable.
 *
 * One thread at a time: the stream moves with its channel client.
 */
#ifndef SPICECORE_STREAM_H_
#define SPICECORE_STREAM_H_

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <openssl/ssl.h>

typedef struct Stream Stream;

/* A plain stream over a connected, non-blocking socket (owned). */
Stream *stream_new(int fd);
/* A TLS stream over fd (owned); its handshake is driven by
 * stream_handshake(). NULL (logged) when OpenSSL cannot make one. */
Stream *stream_new_tls(int fd, SSL_CTX *ctx);
/* 1: the TLS handshake is done (also for plain streams); 0: not yet,
 * wait for stream_events(); -1: it failed (stream_error()). */
int stream_handshake(Stream *st);

int stream_fd(const Stream *st);
bool stream_is_tls(const Stream *st);
/* The TLS connection (for its cipher's strength), or NULL. */
SSL *stream_ssl(const Stream *st);
bool stream_is_websocket(const Stream *st);
/* The last error, for a log line. */
const char *stream_error(const Stream *st);

ssize_t stream_read(Stream *st, void *buf, size_t len);
ssize_t stream_writev(Stream *st, const struct iovec *iov, int iovcnt);
ssize_t stream_write(Stream *st, const void *buf, size_t len);
/* Whether writes should carry one protocol message each: over TLS a
 * record must end where a message ends, because spice-gtk reads a
 * message, then waits for the socket, not for what OpenSSL already
 * decrypted (a record holding the start of the next message would stall
 * it until more data comes). */
bool stream_writes_per_message(const Stream *st);
/* Write what the layers hold: 1 all written, 0 not yet, -1 error. */
int stream_flush(Stream *st);
/* A TLS read waits for the socket to be writable: read again on a
 * write event. */
bool stream_read_wants_write(const Stream *st);
/* SPICE_WATCH_EVENT_* the layers need now, besides the owner's. */
int stream_events(const Stream *st);
/* Input already in the layers: read it without waiting for the socket. */
bool stream_readable(const Stream *st);

/* Bytes read past what was needed, to be read again first. */
void stream_unread(Stream *st, const void *data, size_t len);
/* From now on reads decode WebSocket frames; writes are framed once
 * stream_websocket_writes() is called (after the 101 answer went out
 * unframed). */
void stream_websocket_reads(Stream *st);
void stream_websocket_writes(Stream *st);

/* From now on every byte is encoded with this SASL connection's
 * security layer (a sasl_conn_t, taken; HAVE_SASL builds only). */
void stream_sasl_layer(Stream *st, void *sasl_conn);

/* A last try at the layers' output (a WebSocket close, TLS close_notify)
 * without blocking, then both directions shut. */
void stream_shutdown(Stream *st);
/* Closes the socket. */
void stream_free(Stream *st);

#endif /* SPICECORE_STREAM_H_ */
