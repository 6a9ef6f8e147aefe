/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * link-parser.c: link header and link message checks.
 *
 * The limits come from the protocol's CVE history: an unbounded header
 * size let clients make the server allocate without limit, and unchecked
 * caps counts overflowed size arithmetic. All arithmetic here is done in
 * 64 bits on values already bounded.
 */
#include "link-parser.h"

#include <spice/protocol.h>

#include "spice-plugin-wire.h"

bool link_parse_has_cap(const GArray *words, uint32_t cap)
{
    if (!words || cap / 32 >= words->len) {
        return false;
    }
    return (g_array_index(words, uint32_t, cap / 32) >> (cap % 32)) & 1;
}

uint32_t link_parse_magic(const uint8_t *data, size_t len, const char **why)
{
    if (len < LINK_MAGIC_SIZE) {
        *why = "short link header";
        return SPICE_LINK_ERR_INVALID_DATA;
    }
    if (spice_wire_get_u32(data) != SPICE_MAGIC) {
        *why = "bad magic (not a SPICE client)";
        return SPICE_LINK_ERR_INVALID_MAGIC;
    }
    *why = NULL;
    return SPICE_LINK_ERR_OK;
}

uint32_t link_parse_header(const uint8_t *data, size_t len, LinkHeader *out, const char **why)
{
    SpiceWireReader r = spice_wire_reader(data, len);
    out->magic = spice_wire_u32(&r);
    out->major = spice_wire_u32(&r);
    out->minor = spice_wire_u32(&r);
    out->size = spice_wire_u32(&r);
    if (r.error) {
        *why = "short link header";
        return SPICE_LINK_ERR_INVALID_DATA;
    }
    uint32_t err = link_parse_magic(data, len, why);
    if (err != SPICE_LINK_ERR_OK) {
        return err;
    }
    if (out->major != SPICE_VERSION_MAJOR) {
        *why = "unsupported protocol major version";
        return SPICE_LINK_ERR_VERSION_MISMATCH;
    }
    if (out->size < LINK_MESSAGE_SIZE) {
        *why = "link message smaller than its fixed part";
        return SPICE_LINK_ERR_INVALID_DATA;
    }
    if (out->size > LINK_MAX_SIZE) {
        *why = "link message larger than 4096 bytes";
        return SPICE_LINK_ERR_INVALID_DATA;
    }
    *why = NULL;
    return SPICE_LINK_ERR_OK;
}

uint32_t link_parse_message(const uint8_t *data, size_t size, LinkMessage *out, const char **why)
{
    SpiceWireReader r = spice_wire_reader(data, size);
    out->connection_id = spice_wire_u32(&r);
    out->channel_type = spice_wire_u8(&r);
    out->channel_id = spice_wire_u8(&r);
    out->num_common_caps = spice_wire_u32(&r);
    out->num_channel_caps = spice_wire_u32(&r);
    out->caps_offset = spice_wire_u32(&r);
    if (r.error) {
        *why = "short link message";
        return SPICE_LINK_ERR_INVALID_DATA;
    }
    if (out->num_common_caps > LINK_MAX_CAPS || out->num_channel_caps > LINK_MAX_CAPS) {
        *why = "more than 1024 capability words";
        return SPICE_LINK_ERR_INVALID_DATA;
    }
    if (out->caps_offset < LINK_MESSAGE_SIZE) {
        *why = "capabilities overlap the link message";
        return SPICE_LINK_ERR_INVALID_DATA;
    }
    uint64_t end =
        (uint64_t)out->caps_offset + 4 * ((uint64_t)out->num_common_caps + out->num_channel_caps);
    if (end > size) {
        *why = "capabilities run past the end of the link message";
        return SPICE_LINK_ERR_INVALID_DATA;
    }
    *why = NULL;
    return SPICE_LINK_ERR_OK;
}

static GArray *read_words(const uint8_t *p, uint32_t n)
{
    GArray *a = g_array_sized_new(FALSE, TRUE, sizeof(uint32_t), n);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t w = spice_wire_get_u32(p + 4 * i);
        g_array_append_val(a, w);
    }
    return a;
}

void link_parse_caps(const uint8_t *data, const LinkMessage *m, GArray **common, GArray **channel)
{
    const uint8_t *p = data + m->caps_offset;
    *common = read_words(p, m->num_common_caps);
    *channel = read_words(p + 4 * m->num_common_caps, m->num_channel_caps);
}
