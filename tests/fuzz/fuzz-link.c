/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-link.c: the link header and link message parsers. The first 16
 * bytes are the header, the rest the message (as the server reads them
 * after the header announced the size).
 */
#include "fuzz-link-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_parse_link(data, size);
    return 0;
}
