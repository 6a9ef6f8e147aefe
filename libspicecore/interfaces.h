/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * interfaces.h: the host interfaces added with spice_server_add_interface()
 * (see interfaces.c), for the other core modules. Host thread.
 */
#ifndef SPICECORE_INTERFACES_H_
#define SPICECORE_INTERFACES_H_

#include "server.h"

/* How many instances of key ("tablet", "qxl", "char_device:vdagent")
 * are added. */
unsigned interfaces_count(SpiceServer *s, const char *key);
/* Remove the instances a plugin serves (all when plugin is NULL). */
void interfaces_release_plugin(SpiceServer *s, SpicePlugin *plugin);

#endif /* SPICECORE_INTERFACES_H_ */
