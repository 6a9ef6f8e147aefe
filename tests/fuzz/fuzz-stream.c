/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-stream.c: the link parsers behind the transports: the input is
 * carried to a server-side Stream (stream.c) over a socketpair, and what
 * the stream reads is parsed as a link header and link message, as the
 * link does.
 *   FUZZ_WS   the input, cut into masked client frames (sizes from the
 *             input), after a valid Upgrade; pings and a close in between
 *             when the input asks
 *   FUZZ_TLS  the input written by a TLS client after a real handshake
 *             (a certificate made by tests/tls/make-certs.sh at start)
 * Both: the stream's own answers (pongs, close frames, TLS records) are
 * drained, never checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "fuzz-link-parse.h"
#include "stream.h"
#include "websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#ifdef FUZZ_TLS
static SSL_CTX *server_ctx, *client_ctx;
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
#ifdef FUZZ_TLS
    char *dir = g_dir_make_tmp("fuzz-stream-XXXXXX", NULL);
    const char *cmd[] = { MAKE_CERTS, dir, NULL };
    int status;
    if (!g_spawn_sync(NULL, (char **)cmd, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status,
                      NULL) ||
        status != 0) {
        abort();
    }
    g_autofree char *cert = g_build_filename(dir, "server-cert.pem", NULL);
    g_autofree char *key = g_build_filename(dir, "server-key.pem", NULL);
    server_ctx = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(server_ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(server_ctx, key, SSL_FILETYPE_PEM) != 1) {
        abort();
    }
    SSL_CTX_set_options(server_ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    client_ctx = SSL_CTX_new(TLS_client_method());
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
    if (system(rm) != 0) {
        abort();
    }
    g_free(dir);
#endif
    return 0;
}

static void drain(int fd)
{
    uint8_t buf[65536];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
}

/* Read everything the stream gives, parse it as a link would. */
static void read_link(Stream *st)
{
    uint8_t buf[LINK_MAX_SIZE + LINK_HEADER_SIZE];
    size_t len = 0;
    for (int i = 0; i < 10000 && len < sizeof(buf); i++) {
        ssize_t n = stream_read(st, buf + len, sizeof(buf) - len);
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    fuzz_parse_link(buf, len);
}

#ifdef FUZZ_WS
static const char request[] = "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";

static void put_frame(GByteArray *out, uint8_t b0, const uint8_t *p, size_t n, uint8_t key)
{
    uint8_t h[14];
    size_t hl;
    if (n < 126) {
        h[1] = (uint8_t)(0x80 | n);
        hl = 2;
    } else {
        h[1] = 0x80 | 126;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 4;
    }
    h[0] = b0;
    uint8_t mask[4] = { key, (uint8_t)(key * 3), (uint8_t)(key * 5), (uint8_t)(key * 7) };
    memcpy(h + hl, mask, 4);
    g_byte_array_append(out, h, (guint)hl + 4);
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i] ^ mask[i & 3];
        g_byte_array_append(out, &b, 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
        abort();
    }
    Stream *st = stream_new(sv[0]);
    /* The link has read the request: what followed it goes back. */
    GByteArray *wire = g_byte_array_new();
    size_t pos = 0;
    while (pos < size) {
        uint8_t ctl = data[pos++];
        size_t n = MIN((size_t)(ctl & 0x3f), size - pos);
        if ((ctl & 0xc0) == 0xc0) {
            put_frame(wire, 0x89, data + pos, MIN(n, (size_t)125), ctl); /* a ping */
        } else {
            /* fragmented when bit 6 says so */
            put_frame(wire, (ctl & 0x40) ? 0x02 : 0x82, data + pos, n, ctl);
            if (ctl & 0x40) {
                put_frame(wire, 0x80, NULL, 0, ctl);
            }
        }
        pos += n;
    }
    WsUpgrade up;
    const char *why;
    if (ws_parse_upgrade((const uint8_t *)request, strlen(request), &up, &why) != WS_REQUEST_OK) {
        abort();
    }
    stream_websocket_reads(st);
    stream_websocket_writes(st);
    /* Half through the socket, half given back as read past the request. */
    size_t half = wire->len / 2;
    if (wire->len) {
        stream_unread(st, wire->data, half);
        ssize_t w = write(sv[1], wire->data + half, wire->len - half);
        (void)w;
    }
    shutdown(sv[1], SHUT_WR);
    read_link(st);
    drain(sv[1]);
    stream_free(st);
    close(sv[1]);
    g_byte_array_unref(wire);
    return 0;
}
#endif

#ifdef FUZZ_TLS
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
        abort();
    }
    Stream *st = stream_new_tls(sv[0], server_ctx);
    SSL *client = SSL_new(client_ctx);
    SSL_set_fd(client, sv[1]);
    SSL_set_connect_state(client);
    int server_done = 0, client_done = 0;
    for (int i = 0; i < 100 && (server_done != 1 || client_done != 1); i++) {
        if (client_done != 1) {
            client_done = SSL_do_handshake(client);
            if (client_done <= 0) {
                int e = SSL_get_error(client, client_done);
                if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                    abort();
                }
            }
        }
        if (server_done != 1) {
            server_done = stream_handshake(st);
            if (server_done < 0) {
                abort();
            }
        }
    }
    if (server_done != 1 || client_done != 1) {
        abort();
    }
    /* The input, in records whose sizes come from it; then close_notify
     * or a plain end of the socket, as the input says. */
    size_t pos = 0;
    while (pos < size) {
        size_t n = MIN((size_t)1 + data[pos] * 31u, size - pos);
        if (SSL_write(client, data + pos, (int)n) <= 0) {
            break;
        }
        pos += n;
    }
    if (size && (data[0] & 1)) {
        SSL_shutdown(client);
    }
    shutdown(sv[1], SHUT_WR);
    read_link(st);
    drain(sv[1]);
    SSL_free(client);
    ERR_clear_error();
    stream_free(st);
    close(sv[1]);
    return 0;
}
#endif
