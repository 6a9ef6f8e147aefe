/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-layout.c: our public structs and constants must match the reference
 * server's, byte for byte, or hosts built against the reference headers
 * (QEMU) would read the wrong fields when they load libspicecore.
 *
 * The numbers come from layout-ours.c and layout-reference.c, both built
 * from the one list in layout-entries.h. This file sees neither header set.
 */
#include <inttypes.h>
#include <string.h>

#include <glib.h>

#include "layout-table.h"

typedef struct {
    const LayoutEntry *ours;
    const LayoutEntry *reference;
    size_t n_ours;
    size_t n_reference;
} NumberTables;

typedef struct {
    const LayoutString *ours;
    const LayoutString *reference;
    size_t n_ours;
    size_t n_reference;
} StringTables;

static NumberTables number_tables_get(void)
{
    NumberTables t;

    t.ours = layout_ours_table(&t.n_ours);
    t.reference = layout_reference_table(&t.n_reference);
    return t;
}

static StringTables string_tables_get(void)
{
    StringTables t;

    t.ours = layout_ours_strings(&t.n_ours);
    t.reference = layout_reference_strings(&t.n_reference);
    return t;
}

/*
 * Both tables come from layout-entries.h, so they list the same rows in
 * the same order. Checked anyway: the value comparison below pairs rows by
 * index and would be meaningless otherwise.
 */
static void test_same_rows(void)
{
    NumberTables n = number_tables_get();
    StringTables s = string_tables_get();

    g_assert_cmpuint(n.n_ours, >, 0);
    g_assert_cmpuint(n.n_ours, ==, n.n_reference);
    for (size_t i = 0; i < n.n_ours; i++) {
        g_assert_cmpstr(n.ours[i].name, ==, n.reference[i].name);
    }

    g_assert_cmpuint(s.n_ours, >, 0);
    g_assert_cmpuint(s.n_ours, ==, s.n_reference);
    for (size_t i = 0; i < s.n_ours; i++) {
        g_assert_cmpstr(s.ours[i].name, ==, s.reference[i].name);
    }
}

/* Every size, alignment, offset and constant value, all mismatches listed. */
static void test_numbers(void)
{
    NumberTables t = number_tables_get();
    size_t n = MIN(t.n_ours, t.n_reference);
    size_t mismatches = 0;

    for (size_t i = 0; i < n; i++) {
        const LayoutEntry *ours = &t.ours[i];
        const LayoutEntry *ref = &t.reference[i];

        if (ours->value == ref->value) {
            continue;
        }
        mismatches++;
        if (ours->kind == LAYOUT_KIND_VALUE) {
            g_printerr("MISMATCH %s: ours %" PRIu64 " (0x%" PRIx64 "), reference %" PRIu64
                       " (0x%" PRIx64 ")\n",
                       ours->name, ours->value, ours->value, ref->value, ref->value);
        } else {
            g_printerr("MISMATCH %s: ours %" PRIu64 ", reference %" PRIu64 "\n", ours->name,
                       ours->value, ref->value);
        }
    }
    g_test_message("compared %zu numeric entries, %zu mismatches", n, mismatches);
    if (mismatches > 0) {
        g_test_fail();
    }
}

/* Interface type strings by content, and the C type of every constant. */
static void test_strings(void)
{
    StringTables t = string_tables_get();
    size_t n = MIN(t.n_ours, t.n_reference);
    size_t mismatches = 0;

    for (size_t i = 0; i < n; i++) {
        const LayoutString *ours = &t.ours[i];
        const LayoutString *ref = &t.reference[i];

        if (strcmp(ours->value, ref->value) == 0) {
            continue;
        }
        mismatches++;
        g_printerr("MISMATCH %s: ours \"%s\", reference \"%s\"\n", ours->name, ours->value,
                   ref->value);
    }
    g_test_message("compared %zu string entries, %zu mismatches", n, mismatches);
    if (mismatches > 0) {
        g_test_fail();
    }
}

static const LayoutEntry *find_entry(const LayoutEntry *table, size_t n, LayoutKind kind,
                                     const char *type, const char *member)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i].kind == kind && strcmp(table[i].type, type) == 0 &&
            g_strcmp0(table[i].member, member) == 0) {
            return &table[i];
        }
    }
    return NULL;
}

/*
 * Guards the list itself: a member left out of layout-entries.h would
 * never be compared. For each struct, the listed members must cover its
 * bytes except for padding, and padding is always shorter than the
 * struct's alignment. A forgotten member at least as large as that
 * alignment shows up as a longer uncovered run. (A forgotten char-sized
 * member hiding in padding does not; reviewers still read the list.)
 * Returns how many structs failed, after logging each.
 */
static size_t check_members_cover(const LayoutEntry *table, size_t n, const char *side)
{
    size_t failures = 0;

    for (size_t i = 0; i < n; i++) {
        const LayoutEntry *size = &table[i];
        const LayoutEntry *align;
        g_autofree gboolean *covered = NULL;
        gboolean has_members = FALSE;
        size_t run = 0;

        if (size->kind != LAYOUT_KIND_SIZE) {
            continue;
        }
        align = find_entry(table, n, LAYOUT_KIND_ALIGN, size->type, NULL);
        g_assert_nonnull(align);

        covered = g_new0(gboolean, size->value);
        for (size_t j = 0; j < n; j++) {
            const LayoutEntry *offset = &table[j];
            const LayoutEntry *member_size;

            if (offset->kind != LAYOUT_KIND_OFFSET || strcmp(offset->type, size->type) != 0) {
                continue;
            }
            member_size =
                find_entry(table, n, LAYOUT_KIND_MEMBER_SIZE, offset->type, offset->member);
            g_assert_nonnull(member_size);
            g_assert_cmpuint(offset->value + member_size->value, <=, size->value);
            for (uint64_t b = 0; b < member_size->value; b++) {
                covered[offset->value + b] = TRUE;
            }
            has_members = TRUE;
        }
        if (!has_members) {
            continue; /* an enum or other scalar typedef */
        }

        for (uint64_t b = 0; b <= size->value; b++) {
            if (b < size->value && !covered[b]) {
                run++;
                continue;
            }
            if (run >= align->value) {
                g_printerr("UNLISTED %s (%s headers): bytes %" PRIu64 "..%" PRIu64
                           " are not covered by any member in layout-entries.h\n",
                           size->type, side, b - run, b - 1);
                failures++;
            }
            run = 0;
        }
    }
    return failures;
}

static void test_members_listed(void)
{
    NumberTables t = number_tables_get();
    size_t failures = 0;

    failures += check_members_cover(t.reference, t.n_reference, "reference");
    failures += check_members_cover(t.ours, t.n_ours, "our");
    if (failures > 0) {
        g_test_fail();
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/abi/layout/same-rows", test_same_rows);
    g_test_add_func("/abi/layout/numbers", test_numbers);
    g_test_add_func("/abi/layout/strings", test_strings);
    g_test_add_func("/abi/layout/members-listed", test_members_listed);

    return g_test_run();
}
