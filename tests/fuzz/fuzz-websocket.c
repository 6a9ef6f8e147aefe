/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-websocket.c: websocket.c's parsers alone.
 *   FUZZ_HTTP    the input is an Upgrade request, offered the way the
 *                link reads it (growing prefixes, up to the bound)
 *   FUZZ_FRAMES  the input is client frames, cut into pieces whose sizes
 *                come from the input itself
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FUZZ_HTTP
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Copies, so a read past what was given hits ASan's redzone. */
    for (size_t len = 1; len <= size; len += 1 + len / 2) {
        uint8_t *copy = g_memdup2(data, len);
        WsUpgrade up;
        const char *why = NULL;
        WsRequestResult r = ws_parse_upgrade(copy, len, &up, &why);
        if (r == WS_REQUEST_OK) {
            g_assert(up.request_len <= len);
            GByteArray *out = g_byte_array_new();
            ws_upgrade_reply(&up, out);
            g_byte_array_unref(out);
        }
        g_free(copy);
        if (r != WS_REQUEST_INCOMPLETE) {
            break;
        }
    }
    return 0;
}
#endif

#ifdef FUZZ_FRAMES
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    WsDecoder d;
    ws_decoder_init(&d);
    uint8_t out[97];
    size_t pos = 0;
    while (pos < size) {
        size_t n = 1 + data[pos] % 61;
        n = MIN(n, size - pos);
        uint8_t *piece = g_memdup2(data + pos, n);
        size_t off = 0;
        while (off < n) {
            size_t used, got;
            const char *why = NULL;
            WsEvent e = ws_decode(&d, piece + off, n - off, &used, out, sizeof(out), &got, &why);
            g_assert(used <= n - off && got <= sizeof(out));
            off += used;
            if (e == WS_ERROR) {
                g_assert(why != NULL);
                g_free(piece);
                return 0;
            }
            if (e == WS_PING || e == WS_CLOSE) {
                g_assert(d.control_len <= WS_MAX_CONTROL);
            }
            if (e == WS_NEED_MORE) {
                g_assert(off == n);
            }
        }
        g_free(piece);
        pos += n;
    }
    return 0;
}
#endif
