/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * websocket.h: the server side of RFC 6455, in pieces with no I/O so
 * they can be tested and fuzzed alone:
 *
 *   ws_parse_upgrade()  the client's HTTP Upgrade request (bounded,
 *                       incremental: call again as bytes arrive)
 *   ws_upgrade_reply()  the 101 Switching Protocols answer
 *   WsDecoder           client frames to payload bytes: masking,
 *                       fragmentation, control frames, every rule checked
 *   ws_frame_header()   the header of a server frame
 *
 * stream.c puts them on a connection.
 */
#ifndef SPICECORE_WEBSOCKET_H_
#define SPICECORE_WEBSOCKET_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

/* The longest Upgrade request taken (request line and headers): browsers
 * send well under 2 KiB, cookies included in ordinary deployments. */
#define WS_MAX_REQUEST 16384
/* The largest client frame: SPICE client messages are far smaller. */
#define WS_MAX_FRAME   (16u << 20)
#define WS_MAX_CONTROL 125

#define WS_OP_CONTINUATION 0x0
#define WS_OP_TEXT         0x1
#define WS_OP_BINARY       0x2
#define WS_OP_CLOSE        0x8
#define WS_OP_PING         0x9
#define WS_OP_PONG         0xa

typedef enum {
    WS_REQUEST_INCOMPLETE, /* the blank line has not arrived yet */
    WS_REQUEST_OK,
    WS_REQUEST_BAD,
} WsRequestResult;

typedef struct WsUpgrade {
    char accept[29];    /* Sec-WebSocket-Accept, NUL-terminated */
    bool binary;        /* the client offered the "binary" subprotocol */
    size_t request_len; /* bytes of the request, up to its blank line */
} WsUpgrade;

/* Whether buf (len bytes received so far) holds a complete, valid
 * Upgrade request. On BAD, *why says what is wrong. */
WsRequestResult ws_parse_upgrade(const uint8_t *buf, size_t len, WsUpgrade *up, const char **why);
/* The 101 answer for up, appended to out. */
void ws_upgrade_reply(const WsUpgrade *up, GByteArray *out);
/* The answer to a request that is not a valid Upgrade. */
void ws_bad_request_reply(GByteArray *out);

/* Sec-WebSocket-Accept for a key (any length; RFC 6455 section 4.2.2). */
void ws_accept_key(const char *key, size_t key_len, char out[29]);

typedef enum {
    WS_NEED_MORE, /* everything given was consumed */
    WS_DATA,      /* *data_len payload bytes were written to data */
    WS_PING,      /* a ping arrived: answer with ws_control() of its payload */
    WS_PONG,      /* a pong: nothing to do */
    WS_CLOSE,     /* a close: answer with one and end the connection */
    WS_ERROR,     /* a broken rule: *why; close with 1002 and end */
} WsEvent;

typedef struct WsDecoder {
    uint8_t header[14];
    size_t header_len;
    uint8_t opcode;
    bool fin;
    bool in_message; /* a fragmented data message is under way */
    uint8_t mask[4];
    uint64_t payload_left;
    size_t mask_pos;
    uint8_t control[WS_MAX_CONTROL];
    size_t control_len;
    bool failed;
} WsDecoder;

void ws_decoder_init(WsDecoder *d);
/* Consume bytes from in (*in_used of in_len are taken); data payload is
 * unmasked into data (at most data_cap bytes). Returns what happened;
 * call again with the rest of the input. After WS_PING and WS_CLOSE the
 * control payload is d->control[0..control_len). */
WsEvent ws_decode(WsDecoder *d, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *data,
                  size_t data_cap, size_t *data_len, const char **why);

/* The header of an unmasked server frame (FIN set) of payload_len bytes:
 * its length (2, 4 or 10). */
size_t ws_frame_header(uint8_t opcode, uint64_t payload_len, uint8_t out[10]);

#endif /* SPICECORE_WEBSOCKET_H_ */
