/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-link-parse.h: the link header and link message parsers on bytes
 * as the link reads them: the first 16 bytes are the header, the rest
 * the message. Shared by fuzz-link (raw input) and fuzz-stream (what a
 * WebSocket or TLS stream gave).
 */
#ifndef FUZZ_LINK_PARSE_H_
#define FUZZ_LINK_PARSE_H_

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "link-parser.h"

static inline void fuzz_parse_link(const uint8_t *data, size_t size)
{
    LinkHeader header;
    const char *why;
    size_t hsize = size < LINK_HEADER_SIZE ? size : LINK_HEADER_SIZE;
    (void)link_parse_header(data, hsize, &header, &why);
    if (size <= LINK_HEADER_SIZE) {
        return;
    }
    const uint8_t *body = data + LINK_HEADER_SIZE;
    size_t body_size = size - LINK_HEADER_SIZE;
    /* Copy so reads past the end hit ASan's redzone, not our input. */
    uint8_t *copy = g_memdup2(body, body_size);
    LinkMessage m;
    if (link_parse_message(copy, body_size, &m, &why) == 0) {
        GArray *common, *channel;
        link_parse_caps(copy, &m, &common, &channel);
        g_array_unref(common);
        g_array_unref(channel);
    }
    g_free(copy);
}

#endif /* FUZZ_LINK_PARSE_H_ */
