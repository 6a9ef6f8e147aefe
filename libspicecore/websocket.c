/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * websocket.c: RFC 6455 without I/O (see websocket.h).
 */
#include "websocket.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ---- the Upgrade request ----------------------------------------------------------- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* [s, e) without surrounding blanks. */
static void trim(const char **s, const char **e)
{
    while (*s < *e && is_space(**s)) {
        (*s)++;
    }
    while (*e > *s && is_space((*e)[-1])) {
        (*e)--;
    }
}

static bool equal_nocase(const char *s, const char *e, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(e - s) == n && g_ascii_strncasecmp(s, word, n) == 0;
}

/* Whether the comma-separated list [s, e) holds token (any case). */
static bool list_has(const char *s, const char *e, const char *token)
{
    while (s < e) {
        const char *comma = memchr(s, ',', (size_t)(e - s));
        const char *end = comma ? comma : e;
        const char *a = s, *b = end;
        trim(&a, &b);
        if (equal_nocase(a, b, token)) {
            return true;
        }
        s = comma ? comma + 1 : e;
    }
    return false;
}

static bool is_base64_char(char c)
{
    return g_ascii_isalnum(c) || c == '+' || c == '/';
}

/* A key is the base64 of 16 bytes: 22 characters and "==". */
static bool valid_key(const char *s, const char *e)
{
    if (e - s != 24 || s[22] != '=' || s[23] != '=') {
        return false;
    }
    for (int i = 0; i < 22; i++) {
        if (!is_base64_char(s[i])) {
            return false;
        }
    }
    /* The last character before the padding carries 2 bits: its low
     * 4 bits must be zero (AQgw...). */
    return strchr("AQgw", s[21]) != NULL;
}

void ws_accept_key(const char *key, size_t key_len, char out[29])
{
    uint8_t digest[SHA_DIGEST_LENGTH];
    /* SHA-1 is what RFC 6455 prescribes here; it is no security measure. */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int dlen = 0;
    if (md && EVP_DigestInit_ex(md, EVP_sha1(), NULL) && EVP_DigestUpdate(md, key, key_len) &&
        EVP_DigestUpdate(md, WS_GUID, strlen(WS_GUID)) && EVP_DigestFinal_ex(md, digest, &dlen) &&
        dlen == SHA_DIGEST_LENGTH) {
        EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
    } else {
        out[0] = '\0';
    }
    EVP_MD_CTX_free(md);
}

WsRequestResult ws_parse_upgrade(const uint8_t *buf, size_t len, WsUpgrade *up, const char **why)
{
    static const char get[] = "GET ";
    size_t head = MIN(len, sizeof(get) - 1);
    if (memcmp(buf, get, head) != 0) {
        *why = "not an HTTP GET request";
        return WS_REQUEST_BAD;
    }
    /* The end of the headers, within the bound. */
    size_t end = 0;
    for (size_t i = 3; i < len && i < WS_MAX_REQUEST; i++) {
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
            end = i + 1;
            break;
        }
    }
    if (!end) {
        if (len >= WS_MAX_REQUEST) {
            *why = "HTTP request longer than 16 KiB";
            return WS_REQUEST_BAD;
        }
        return WS_REQUEST_INCOMPLETE;
    }
    const char *p = (const char *)buf;
    const char *stop = p + end - 2; /* at the final CRLF */
    for (const char *c = p; c < stop; c++) {
        unsigned char u = (unsigned char)*c;
        if ((u < 0x20 && u != '\t' && u != '\r' && u != '\n') || u == 0x7f) {
            *why = "control character in the HTTP request";
            return WS_REQUEST_BAD;
        }
    }
    /* Request line: GET SP target SP HTTP/1.x CRLF, x >= 1. */
    const char *eol = memchr(p, '\r', (size_t)(stop - p));
    if (!eol || eol[1] != '\n') {
        *why = "malformed request line";
        return WS_REQUEST_BAD;
    }
    const char *target = p + 4;
    const char *sp = memchr(target, ' ', (size_t)(eol - target));
    if (!sp || sp == target || memchr(sp + 1, ' ', (size_t)(eol - sp - 1))) {
        *why = "malformed request line";
        return WS_REQUEST_BAD;
    }
    const char *version = sp + 1;
    if (eol - version != 8 || memcmp(version, "HTTP/1.", 7) != 0 || version[7] < '1' ||
        version[7] > '9') {
        *why = "not HTTP/1.1";
        return WS_REQUEST_BAD;
    }
    bool upgrade = false, connection = false, version13 = false;
    const char *key = NULL, *key_end = NULL;
    up->binary = false;
    for (const char *line = eol + 2; line < stop;) {
        const char *le = memchr(line, '\r', (size_t)(stop - line));
        if (!le || le[1] != '\n') {
            *why = "malformed header line";
            return WS_REQUEST_BAD;
        }
        if (is_space(*line)) {
            *why = "folded header line";
            return WS_REQUEST_BAD;
        }
        const char *colon = memchr(line, ':', (size_t)(le - line));
        if (!colon || colon == line) {
            *why = "header line without a name";
            return WS_REQUEST_BAD;
        }
        const char *v = colon + 1, *ve = le;
        trim(&v, &ve);
        if (equal_nocase(line, colon, "Upgrade")) {
            upgrade |= list_has(v, ve, "websocket");
        } else if (equal_nocase(line, colon, "Connection")) {
            connection |= list_has(v, ve, "upgrade");
        } else if (equal_nocase(line, colon, "Sec-WebSocket-Key")) {
            if (key) {
                *why = "two Sec-WebSocket-Key headers";
                return WS_REQUEST_BAD;
            }
            key = v;
            key_end = ve;
        } else if (equal_nocase(line, colon, "Sec-WebSocket-Version")) {
            version13 = equal_nocase(v, ve, "13");
        } else if (equal_nocase(line, colon, "Sec-WebSocket-Protocol")) {
            up->binary |= list_has(v, ve, "binary");
        }
        line = le + 2;
    }
    if (!upgrade || !connection) {
        *why = "not a WebSocket upgrade (Upgrade: websocket, Connection: Upgrade)";
        return WS_REQUEST_BAD;
    }
    if (!version13) {
        *why = "Sec-WebSocket-Version is not 13";
        return WS_REQUEST_BAD;
    }
    if (!key || !valid_key(key, key_end)) {
        *why = "missing or malformed Sec-WebSocket-Key";
        return WS_REQUEST_BAD;
    }
    ws_accept_key(key, (size_t)(key_end - key), up->accept);
    if (!up->accept[0]) {
        *why = "cannot compute Sec-WebSocket-Accept";
        return WS_REQUEST_BAD;
    }
    up->request_len = end;
    return WS_REQUEST_OK;
}

static void append(GByteArray *out, const char *s)
{
    g_byte_array_append(out, (const guint8 *)s, (guint)strlen(s));
}

void ws_upgrade_reply(const WsUpgrade *up, GByteArray *out)
{
    append(out, "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                "Sec-WebSocket-Accept: ");
    append(out, up->accept);
    append(out, "\r\n");
    if (up->binary) {
        append(out, "Sec-WebSocket-Protocol: binary\r\n");
    }
    append(out, "\r\n");
}

void ws_bad_request_reply(GByteArray *out)
{
    append(out, "HTTP/1.1 400 Bad Request\r\n"
                "Connection: close\r\n"
                "Content-Length: 0\r\n"
                "\r\n");
}

/* ---- frames ------------------------------------------------------------------------ */

void ws_decoder_init(WsDecoder *d)
{
    memset(d, 0, sizeof(*d));
}

static size_t header_need(const WsDecoder *d)
{
    if (d->header_len < 2) {
        return 2;
    }
    uint8_t len7 = d->header[1] & 0x7f;
    size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    /* Client frames are masked; an unmasked one is refused as soon as
     * its first two bytes are in. */
    return 2 + ext + ((d->header[1] & 0x80) ? 4 : 0);
}

static WsEvent fail(WsDecoder *d, const char **why, const char *what)
{
    d->failed = true;
    *why = what;
    return WS_ERROR;
}

/* The header is complete: check it and set up the payload. */
static WsEvent start_frame(WsDecoder *d, const char **why)
{
    uint8_t b0 = d->header[0], b1 = d->header[1];
    if (b0 & 0x70) {
        return fail(d, why, "reserved bits set (no extension was negotiated)");
    }
    if (!(b1 & 0x80)) {
        return fail(d, why, "unmasked client frame");
    }
    d->fin = (b0 & 0x80) != 0;
    d->opcode = b0 & 0x0f;
    uint8_t len7 = b1 & 0x7f;
    uint64_t len = len7;
    size_t pos = 2;
    if (len7 == 126) {
        len = (uint64_t)d->header[2] << 8 | d->header[3];
        pos = 4;
    } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++) {
            len = len << 8 | d->header[2 + i];
        }
        pos = 10;
        if (len >> 63) {
            return fail(d, why, "frame length with its top bit set");
        }
    }
    memcpy(d->mask, d->header + pos, 4);
    d->mask_pos = 0;
    d->payload_left = len;
    d->control_len = 0;
    switch (d->opcode) {
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        if (!d->fin) {
            return fail(d, why, "fragmented control frame");
        }
        if (len > WS_MAX_CONTROL) {
            return fail(d, why, "control frame longer than 125 bytes");
        }
        return WS_NEED_MORE;
    case WS_OP_BINARY:
        if (d->in_message) {
            return fail(d, why, "new message inside a fragmented one");
        }
        break;
    case WS_OP_CONTINUATION:
        if (!d->in_message) {
            return fail(d, why, "continuation frame outside a message");
        }
        break;
    case WS_OP_TEXT:
        return fail(d, why, "text frame (SPICE data is binary)");
    default:
        return fail(d, why, "unknown opcode");
    }
    if (len > WS_MAX_FRAME) {
        return fail(d, why, "frame longer than 16 MiB");
    }
    d->in_message = !d->fin;
    return WS_NEED_MORE;
}

static WsEvent control_done(WsDecoder *d, const char **why)
{
    d->header_len = 0;
    switch (d->opcode) {
    case WS_OP_PING:
        return WS_PING;
    case WS_OP_PONG:
        return WS_PONG;
    default:
        if (d->control_len == 1) {
            return fail(d, why, "close frame with a 1-byte payload");
        }
        return WS_CLOSE;
    }
}

WsEvent ws_decode(WsDecoder *d, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *data,
                  size_t data_cap, size_t *data_len, const char **why)
{
    size_t pos = 0;
    *data_len = 0;
    *in_used = 0;
    if (d->failed) {
        *why = "the stream already failed";
        return WS_ERROR;
    }
    while (pos < in_len) {
        size_t need = header_need(d);
        if (d->header_len < need) {
            /* Data gathered so far goes out before the next frame. */
            if (*data_len) {
                break;
            }
            size_t take = MIN(need - d->header_len, in_len - pos);
            memcpy(d->header + d->header_len, in + pos, take);
            d->header_len += take;
            pos += take;
            if (d->header_len < header_need(d)) {
                continue;
            }
            WsEvent e = start_frame(d, why);
            if (e == WS_ERROR) {
                *in_used = pos;
                return e;
            }
            if (d->opcode >= WS_OP_CLOSE && d->payload_left == 0) {
                *in_used = pos;
                return control_done(d, why);
            }
            if (d->payload_left == 0) {
                d->header_len = 0; /* an empty data frame */
            }
            continue;
        }
        size_t take = (size_t)MIN(d->payload_left, (uint64_t)(in_len - pos));
        if (d->opcode >= WS_OP_CLOSE) {
            for (size_t i = 0; i < take; i++) {
                d->control[d->control_len++] = in[pos + i] ^ d->mask[d->mask_pos++ & 3];
            }
            pos += take;
            d->payload_left -= take;
            if (d->payload_left == 0) {
                *in_used = pos;
                return control_done(d, why);
            }
            continue;
        }
        take = MIN(take, data_cap - *data_len);
        if (take == 0) {
            break; /* the caller's buffer is full */
        }
        uint8_t *o = data + *data_len;
        for (size_t i = 0; i < take; i++) {
            o[i] = in[pos + i] ^ d->mask[(d->mask_pos + i) & 3];
        }
        d->mask_pos = (d->mask_pos + take) & 3;
        *data_len += take;
        pos += take;
        d->payload_left -= take;
        if (d->payload_left == 0) {
            d->header_len = 0;
        }
    }
    *in_used = pos;
    return *data_len ? WS_DATA : WS_NEED_MORE;
}

size_t ws_frame_header(uint8_t opcode, uint64_t payload_len, uint8_t out[10])
{
    out[0] = 0x80 | opcode;
    if (payload_len < 126) {
        out[1] = (uint8_t)payload_len;
        return 2;
    }
    if (payload_len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++) {
        out[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
    }
    return 10;
}
