/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * layout-reference.c: the layout table of the reference server's public
 * headers (package libspice-server-dev), the ABI libspicecore replaces.
 *
 * Built with the reference include directory only, never with ours, and
 * never linked with the reference library: only its headers are used, and
 * only here, to read sizes, offsets and constants.
 */
#include <spice.h>

/* A wrong include path would silently compare our headers with themselves:
 * our SpiceServer is struct SpiceServer, the reference's is not. */
_Static_assert(!__builtin_types_compatible_p(SpiceServer, struct SpiceServer),
               "layout-reference.c must be compiled against the reference <spice.h>");

#define LAYOUT_TABLE_FUNC   layout_reference_table
#define LAYOUT_STRINGS_FUNC layout_reference_strings
#include "layout-emit.h"
