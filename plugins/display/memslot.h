/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memslot.h: translating guest addresses (QXLPHYSICAL) into host pointers.
 *
 * A QXLPHYSICAL carries a slot id in its top id_bits, a generation in the
 * next gen_bits and an offset in the rest. The host maps each slot of each
 * group to a host virtual range [virt_start, virt_end) and gives the
 * delta to add to offsets. Every translation checks the group and slot
 * bounds (the CVE-2019-3813 off-by-one was here), the generation, and that
 * [host, host + size) lies inside the slot with no arithmetic overflow.
 */
#ifndef SPICE_DISPLAY_MEMSLOT_H_
#define SPICE_DISPLAY_MEMSLOT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <spice/qxl_dev.h>

/* Upper bounds on what a host may declare: more is a broken host. */
#define MEMSLOT_MAX_GROUPS 16
#define MEMSLOT_MAX_SLOTS  256

typedef struct MemSlot {
    bool active;
    uint32_t generation;
    uint64_t virt_start;
    uint64_t virt_end;
    uint64_t addr_delta;
} MemSlot;

typedef struct MemSlots {
    uint32_t n_groups;
    uint32_t n_slots;
    uint8_t id_bits;
    uint8_t gen_bits;
    uint64_t offset_mask;
    MemSlot slots[MEMSLOT_MAX_GROUPS * MEMSLOT_MAX_SLOTS];
} MemSlots;

/* Set up from the host's QXLDevInitInfo values. Returns false (with a
 * static *why) when they make no sense. */
bool memslots_init(MemSlots *m, uint32_t n_groups, uint32_t n_slots, uint8_t gen_bits,
                   uint8_t id_bits, const char **why);

/* Add or replace a slot. virt_end is exclusive. */
bool memslots_add(MemSlots *m, uint32_t group, uint32_t slot, uint32_t generation,
                  uint64_t virt_start, uint64_t virt_end, uint64_t addr_delta, const char **why);
bool memslots_del(MemSlots *m, uint32_t group, uint32_t slot, const char **why);
void memslots_reset(MemSlots *m);

/*
 * Host pointer for `size` bytes at guest address addr in group `group`,
 * or NULL with a static *why. size 0 is allowed (checks the start only).
 */
void *memslot_get(const MemSlots *m, uint32_t group, QXLPHYSICAL addr, size_t size,
                  const char **why);

/* How many bytes from addr to the end of its slot (0 when invalid): for
 * data whose length is found by reading it (guest log strings). */
size_t memslot_bytes_left(const MemSlots *m, uint32_t group, QXLPHYSICAL addr);

#endif /* SPICE_DISPLAY_MEMSLOT_H_ */
