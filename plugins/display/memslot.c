/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memslot.c: guest address translation.
 */
#include "memslot.h"

#include <string.h>

bool memslots_init(MemSlots *m, uint32_t n_groups, uint32_t n_slots, uint8_t gen_bits,
                   uint8_t id_bits, const char **why)
{
    memset(m, 0, sizeof(*m));
    if (n_groups == 0 || n_groups > MEMSLOT_MAX_GROUPS) {
        *why = "number of memory slot groups out of range (1..16)";
        return false;
    }
    if (n_slots == 0 || n_slots > MEMSLOT_MAX_SLOTS) {
        *why = "number of memory slots out of range (1..256)";
        return false;
    }
    if (id_bits > 16 || gen_bits > 16 || id_bits + gen_bits >= 48) {
        *why = "memory slot id/generation bit counts out of range";
        return false;
    }
    /* Slot ids must fit the id bits, or some slots could never be named. */
    if (id_bits < 32 && n_slots > (1u << id_bits)) {
        *why = "more memory slots than the slot id bits can address";
        return false;
    }
    m->n_groups = n_groups;
    m->n_slots = n_slots;
    m->id_bits = id_bits;
    m->gen_bits = gen_bits;
    unsigned offset_bits = 64u - id_bits - gen_bits;
    m->offset_mask = offset_bits >= 64 ? UINT64_MAX : (UINT64_C(1) << offset_bits) - 1;
    return true;
}

static MemSlot *slot_at(MemSlots *m, uint32_t group, uint32_t slot)
{
    return &m->slots[group * MEMSLOT_MAX_SLOTS + slot];
}

bool memslots_add(MemSlots *m, uint32_t group, uint32_t slot, uint32_t generation,
                  uint64_t virt_start, uint64_t virt_end, uint64_t addr_delta, const char **why)
{
    if (group >= m->n_groups || slot >= m->n_slots) {
        *why = "memory slot group or id out of range";
        return false;
    }
    if (virt_end < virt_start) {
        *why = "memory slot ends before it starts";
        return false;
    }
    if (m->gen_bits < 32 && generation >= (UINT64_C(1) << m->gen_bits)) {
        *why = "memory slot generation does not fit the generation bits";
        return false;
    }
    MemSlot *s = slot_at(m, group, slot);
    s->active = true;
    s->generation = generation;
    s->virt_start = virt_start;
    s->virt_end = virt_end;
    s->addr_delta = addr_delta;
    return true;
}

bool memslots_del(MemSlots *m, uint32_t group, uint32_t slot, const char **why)
{
    if (group >= m->n_groups || slot >= m->n_slots) {
        *why = "memory slot group or id out of range";
        return false;
    }
    memset(slot_at(m, group, slot), 0, sizeof(MemSlot));
    return true;
}

void memslots_reset(MemSlots *m)
{
    memset(m->slots, 0, sizeof(m->slots));
}

/* Decode addr; returns the slot and the host address, or NULL. */
static const MemSlot *resolve(const MemSlots *m, uint32_t group, QXLPHYSICAL addr, uint64_t *host,
                              const char **why)
{
    if (group >= m->n_groups) {
        *why = "memory slot group out of range";
        return NULL;
    }
    uint32_t shift = 64u - m->id_bits;
    uint32_t slot_id = m->id_bits ? (uint32_t)(addr >> shift) : 0;
    if (slot_id >= m->n_slots) {
        *why = "memory slot id out of range";
        return NULL;
    }
    const MemSlot *s = &m->slots[group * MEMSLOT_MAX_SLOTS + slot_id];
    if (!s->active) {
        *why = "memory slot not in use";
        return NULL;
    }
    if (m->gen_bits) {
        uint32_t gen_shift = 64u - m->id_bits - m->gen_bits;
        uint64_t gen = (addr >> gen_shift) & ((UINT64_C(1) << m->gen_bits) - 1);
        if (gen != s->generation) {
            *why = "memory slot generation mismatch (stale address)";
            return NULL;
        }
    }
    uint64_t offset = addr & m->offset_mask;
    /* The delta may wrap (it is a host address difference): unsigned. */
    *host = offset + s->addr_delta;
    return s;
}

void *memslot_get(const MemSlots *m, uint32_t group, QXLPHYSICAL addr, size_t size,
                  const char **why)
{
    uint64_t host;
    const MemSlot *s = resolve(m, group, addr, &host, why);
    if (!s) {
        return NULL;
    }
    if (host < s->virt_start || host > s->virt_end || size > s->virt_end - host) {
        *why = "address range outside its memory slot";
        return NULL;
    }
    if (host == 0 && size > 0) {
        *why = "NULL address";
        return NULL;
    }
    return (void *)(uintptr_t)host;
}

size_t memslot_bytes_left(const MemSlots *m, uint32_t group, QXLPHYSICAL addr)
{
    uint64_t host;
    const char *why;
    const MemSlot *s = resolve(m, group, addr, &host, &why);
    if (!s || host < s->virt_start || host >= s->virt_end) {
        return 0;
    }
    uint64_t left = s->virt_end - host;
    return left > SIZE_MAX ? SIZE_MAX : (size_t)left;
}
