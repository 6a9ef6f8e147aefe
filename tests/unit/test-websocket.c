/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-websocket.c: the Upgrade parser, the accept key, the frame decoder
 * and the server frame header of websocket.c, without sockets.
 */
#include <string.h>

#include <glib.h>

#include "websocket.h"

static const char good_request[] = "GET /spice?x=1 HTTP/1.1\r\n"
                                   "Host: 127.0.0.1:5959\r\n"
                                   "Upgrade: WebSocket\r\n"
                                   "Connection: keep-alive, Upgrade\r\n"
                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                   "Sec-WebSocket-Protocol: chat, binary\r\n"
                                   "Sec-WebSocket-Version: 13\r\n"
                                   "\r\n";

static void test_accept_key(void)
{
    /* RFC 6455 section 1.3. */
    char out[29];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    ws_accept_key(key, strlen(key), out);
    g_assert_cmpstr(out, ==, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_upgrade_ok(void)
{
    WsUpgrade up;
    const char *why = NULL;
    size_t n = strlen(good_request);
    /* Incomplete at every length short of the blank line. */
    for (size_t len = 1; len < n; len++) {
        g_assert_cmpint(ws_parse_upgrade((const uint8_t *)good_request, len, &up, &why), ==,
                        WS_REQUEST_INCOMPLETE);
    }
    /* Frames after it are not part of it. */
    g_autofree char *more = g_strconcat(good_request, "\x82\x80", NULL);
    g_assert_cmpint(ws_parse_upgrade((const uint8_t *)more, strlen(more), &up, &why), ==,
                    WS_REQUEST_OK);
    g_assert_cmpuint(up.request_len, ==, n);
    g_assert_true(up.binary);
    g_assert_cmpstr(up.accept, ==, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    GByteArray *reply = g_byte_array_new();
    ws_upgrade_reply(&up, reply);
    g_byte_array_append(reply, (const guint8 *)"", 1);
    g_assert_cmpstr((const char *)reply->data, ==,
                    "HTTP/1.1 101 Switching Protocols\r\n"
                    "Upgrade: websocket\r\n"
                    "Connection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                    "Sec-WebSocket-Protocol: binary\r\n"
                    "\r\n");
    g_byte_array_unref(reply);
}

static void test_upgrade_bad(void)
{
    const struct {
        const char *request;
        const char *why;
    } cases[] = {
        { "POST / HTTP/1.1\r\n\r\n", "not an HTTP GET" },
        { "GE", NULL }, /* a prefix of GET: incomplete, tested below */
        { "GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n", "not a WebSocket" },
        { "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: close\r\n\r\n", "not a WebSocket" },
        { "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short==\r\n\r\n",
          "Sec-WebSocket-Key" },
        { "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
          "two Sec-WebSocket-Key" },
        { "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\n\r\n",
          "Sec-WebSocket-Key" }, /* padding bits set */
        { "GET / HTTP/1.1\r\nNoColon\r\n\r\n", "without a name" },
        { "GET / HTTP/1.1\r\n: value\r\n\r\n", "without a name" },
        { "GET / HTTP/2.0\r\n\r\n", "not HTTP/1.1" },
        { "GET /a b HTTP/1.1\r\n\r\n", "malformed request line" },
        { "GET / HTTP/1.1\nHost: x\r\n\r\n", "malformed" },
        { "GET / HTTP/1.1\r\nX: \x7f\r\n\r\n", "control character" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        WsUpgrade up;
        const char *why = NULL;
        WsRequestResult r = ws_parse_upgrade((const uint8_t *)cases[i].request,
                                             strlen(cases[i].request), &up, &why);
        if (!cases[i].why) {
            g_assert_cmpint(r, ==, WS_REQUEST_INCOMPLETE);
            continue;
        }
        g_assert_cmpint(r, ==, WS_REQUEST_BAD);
        g_assert_nonnull(strstr(why, cases[i].why));
    }
    /* Past the bound without a blank line. */
    GString *big = g_string_new("GET / HTTP/1.1\r\n");
    while (big->len < WS_MAX_REQUEST + 10) {
        g_string_append(big, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    WsUpgrade up;
    const char *why = NULL;
    g_assert_cmpint(ws_parse_upgrade((const uint8_t *)big->str, WS_MAX_REQUEST - 1, &up, &why), ==,
                    WS_REQUEST_INCOMPLETE);
    g_assert_cmpint(ws_parse_upgrade((const uint8_t *)big->str, big->len, &up, &why), ==,
                    WS_REQUEST_BAD);
    g_string_free(big, TRUE);
}

/* A masked client frame. */
static GByteArray *frame(uint8_t b0, const void *payload, size_t len)
{
    static const uint8_t mask[4] = { 0xa1, 0xb2, 0xc3, 0xd4 };
    GByteArray *f = g_byte_array_new();
    uint8_t h[14];
    size_t hl;
    if (len < 126) {
        h[1] = (uint8_t)(0x80 | len);
        hl = 2;
    } else if (len <= 0xffff) {
        h[1] = 0x80 | 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        hl = 4;
    } else {
        h[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++) {
            h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        }
        hl = 10;
    }
    h[0] = b0;
    memcpy(h + hl, mask, 4);
    g_byte_array_append(f, h, (guint)hl + 4);
    const uint8_t *p = payload;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = p[i] ^ mask[i & 3];
        g_byte_array_append(f, &b, 1);
    }
    return f;
}

/* Decode input fed in pieces of `step` bytes; returns the data and the
 * control events seen ("P" ping, "O" pong, "C" close) in *events. */
static GByteArray *decode_all(const GByteArray *in, size_t step, GString *events,
                              const char **error)
{
    WsDecoder d;
    ws_decoder_init(&d);
    GByteArray *out = g_byte_array_new();
    uint8_t buf[7]; /* small on purpose: a frame spans several calls */
    *error = NULL;
    for (size_t pos = 0; pos < in->len;) {
        size_t n = MIN(step, in->len - pos);
        size_t off = 0;
        while (off < n) {
            size_t used, got;
            const char *why = NULL;
            WsEvent e =
                ws_decode(&d, in->data + pos + off, n - off, &used, buf, sizeof(buf), &got, &why);
            off += used;
            g_byte_array_append(out, buf, (guint)got);
            if (e == WS_PING) {
                g_string_append_c(events, 'P');
            } else if (e == WS_PONG) {
                g_string_append_c(events, 'O');
            } else if (e == WS_CLOSE) {
                g_string_append_c(events, 'C');
            } else if (e == WS_ERROR) {
                *error = why;
                return out;
            } else if (e == WS_NEED_MORE) {
                g_assert_cmpuint(off, ==, n);
            }
        }
        pos += n;
    }
    return out;
}

static void test_decode(void)
{
    GByteArray *in = g_byte_array_new();
    char big[70000];
    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (char)(i * 7);
    }
    GByteArray *parts[] = {
        frame(0x02, "hello ", 6), frame(0x89, "pi", 2), /* ping inside a message */
        frame(0x00, "", 0),       frame(0x80, "world", 5),       frame(0x8a, "", 0),
        frame(0x82, big, 300),    frame(0x82, big, sizeof(big)), frame(0x88, "\x03\xe8", 2),
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(parts); i++) {
        g_byte_array_append(in, parts[i]->data, parts[i]->len);
        g_byte_array_unref(parts[i]);
    }
    GByteArray *want = g_byte_array_new();
    g_byte_array_append(want, (const guint8 *)"hello world", 11);
    g_byte_array_append(want, (const guint8 *)big, 300);
    g_byte_array_append(want, (const guint8 *)big, sizeof(big));
    const size_t steps[] = { 1, 2, 3, 13, 4096, 1 << 20 };
    for (unsigned i = 0; i < G_N_ELEMENTS(steps); i++) {
        GString *events = g_string_new(NULL);
        const char *error;
        GByteArray *out = decode_all(in, steps[i], events, &error);
        g_assert_null(error);
        g_assert_cmpmem(out->data, out->len, want->data, want->len);
        g_assert_cmpstr(events->str, ==, "POC");
        g_byte_array_unref(out);
        g_string_free(events, TRUE);
    }
    g_byte_array_unref(in);
    g_byte_array_unref(want);
}

static void test_decode_errors(void)
{
    const struct {
        uint8_t b0;
        size_t len;
        const char *why;
    } cases[] = {
        { 0xc2, 1, "reserved" },          { 0x81, 1, "text" },
        { 0x83, 1, "unknown opcode" },    { 0x0a, 1, "fragmented control" },
        { 0x89, 126, "longer than 125" }, { 0x80, 1, "continuation frame outside" },
        { 0x88, 1, "1-byte payload" },
    };
    char payload[200] = { 0 };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        GByteArray *f = frame(cases[i].b0, payload, cases[i].len);
        GString *events = g_string_new(NULL);
        const char *error;
        GByteArray *out = decode_all(f, f->len, events, &error);
        g_assert_nonnull(error);
        g_assert_nonnull(strstr(error, cases[i].why));
        g_byte_array_unref(out);
        g_byte_array_unref(f);
        g_string_free(events, TRUE);
    }
    /* Unmasked; a new message inside a fragmented one; lengths. */
    const uint8_t unmasked[] = { 0x82, 0x01, 'x' };
    const uint8_t nested[] = { 0x02, 0x80, 0, 0, 0, 0, 0x02, 0x80, 0, 0, 0, 0 };
    const uint8_t top_bit[] = { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4 };
    const uint8_t too_long[] = { 0x82, 0xff, 0, 0, 0, 0, 1, 0, 0, 1, 1, 2, 3, 4 };
    const struct {
        const uint8_t *bytes;
        size_t len;
        const char *why;
    } raw[] = {
        { unmasked, sizeof(unmasked), "unmasked" },
        { nested, sizeof(nested), "inside a fragmented" },
        { top_bit, sizeof(top_bit), "top bit" },
        { too_long, sizeof(too_long), "16 MiB" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(raw); i++) {
        GByteArray *in = g_byte_array_new();
        g_byte_array_append(in, raw[i].bytes, (guint)raw[i].len);
        GString *events = g_string_new(NULL);
        const char *error;
        GByteArray *out = decode_all(in, 1, events, &error);
        g_assert_nonnull(error);
        g_assert_nonnull(strstr(error, raw[i].why));
        g_byte_array_unref(out);
        g_byte_array_unref(in);
        g_string_free(events, TRUE);
    }
}

static void test_frame_header(void)
{
    uint8_t h[10];
    g_assert_cmpuint(ws_frame_header(WS_OP_BINARY, 125, h), ==, 2);
    g_assert_cmphex(h[0], ==, 0x82);
    g_assert_cmphex(h[1], ==, 125);
    g_assert_cmpuint(ws_frame_header(WS_OP_BINARY, 126, h), ==, 4);
    g_assert_cmphex(h[1], ==, 126);
    g_assert_cmphex(h[2] << 8 | h[3], ==, 126);
    g_assert_cmpuint(ws_frame_header(WS_OP_BINARY, 65535, h), ==, 4);
    g_assert_cmpuint(ws_frame_header(WS_OP_PONG, 65536, h), ==, 10);
    g_assert_cmphex(h[0], ==, 0x8a);
    g_assert_cmphex(h[1], ==, 127);
    g_assert_cmphex(h[7], ==, 1);
    g_assert_cmphex(h[8] | h[9], ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/websocket/accept-key", test_accept_key);
    g_test_add_func("/websocket/upgrade-ok", test_upgrade_ok);
    g_test_add_func("/websocket/upgrade-bad", test_upgrade_bad);
    g_test_add_func("/websocket/decode", test_decode);
    g_test_add_func("/websocket/decode-errors", test_decode_errors);
    g_test_add_func("/websocket/frame-header", test_frame_header);
    return g_test_run();
}
