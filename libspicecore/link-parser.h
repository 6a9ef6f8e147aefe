/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * link-parser.h: validation of the two messages a client sends first on
 * every connection, the link header and the link message. Pure functions
 * over byte buffers: no I/O, no allocation beyond the caps arrays.
 */
#ifndef SPICECORE_LINK_PARSER_H_
#define SPICECORE_LINK_PARSER_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#define LINK_MAGIC_SIZE   4u
#define LINK_HEADER_SIZE  16u
#define LINK_MESSAGE_SIZE 18u
#define LINK_REPLY_SIZE   178u
#define LINK_MAX_SIZE     4096u /* largest link message accepted */
#define LINK_MAX_CAPS     1024u /* largest caps word count, each list */
#define LINK_TICKET_SIZE  128u
#define LINK_PUBKEY_SIZE  162u

typedef struct LinkHeader {
    uint32_t magic;
    uint32_t major;
    uint32_t minor;
    uint32_t size;
} LinkHeader;

typedef struct LinkMessage {
    uint32_t connection_id;
    uint8_t channel_type;
    uint8_t channel_id;
    uint32_t num_common_caps;
    uint32_t num_channel_caps;
    uint32_t caps_offset;
} LinkMessage;

/* Whether capability cap is set in caps words (bit cap % 32 of word
 * cap / 32) as a link message carries them. */
bool link_parse_has_cap(const GArray *words, uint32_t cap);

/* Check the first 4 bytes of a connection: SPICE_LINK_ERR_OK when they
 * are the SPICE magic, else SPICE_LINK_ERR_INVALID_MAGIC (or
 * INVALID_DATA when fewer than 4 bytes are given). */
uint32_t link_parse_magic(const uint8_t *data, size_t len, const char **why);

/* Parse and check a 16-byte link header. Returns SPICE_LINK_ERR_OK or the
 * error to reply with; *why gets a static explanation for the log. */
uint32_t link_parse_header(const uint8_t *data, size_t len, LinkHeader *out, const char **why);

/* Parse and check the link message body (`size` bytes, as announced by
 * the header). Returns SPICE_LINK_ERR_OK or the error to reply with. */
uint32_t link_parse_message(const uint8_t *data, size_t size, LinkMessage *out, const char **why);

/* Copy the caps words of a parsed message into two new arrays. */
void link_parse_caps(const uint8_t *data, const LinkMessage *m, GArray **common, GArray **channel);

#endif /* SPICECORE_LINK_PARSER_H_ */
