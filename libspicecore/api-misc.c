/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * api-misc.c: public entry points for features this build does not
 * provide yet (migration, QXL command replay). Each fails the documented
 * way with a log line saying so; none pretends to work.
 */
#include "server.h"

SPICE_EXPORT const char **spice_server_char_device_recognized_subtypes(void)
{
    /* The subtypes the protocol defines for spicevmc devices; whether an
     * enabled plugin serves one is reported when the host adds it. */
    static const char *subtypes[] = { "vdagent", "smartcard", "usbredir", NULL };
    return subtypes;
}

static int migration_unsupported(const char *api)
{
    g_warning("%s: migration of connected clients is not supported by this build; clients "
              "will reconnect by themselves",
              api);
    return -1;
}

SPICE_EXPORT int spice_server_migrate_info(SpiceServer *s, const char *dest, int port,
                                           int secure_port, const char *cert_subject)
{
    (void)s, (void)dest, (void)port, (void)secure_port, (void)cert_subject;
    return migration_unsupported(__func__);
}

SPICE_EXPORT int spice_server_migrate_switch(SpiceServer *s)
{
    (void)s;
    return migration_unsupported(__func__);
}

SPICE_EXPORT int spice_server_migrate_connect(SpiceServer *s, const char *dest, int port,
                                              int secure_port, const char *cert_subject)
{
    (void)s, (void)dest, (void)port, (void)secure_port, (void)cert_subject;
    return migration_unsupported(__func__);
}

SPICE_EXPORT int spice_server_migrate_start(SpiceServer *s)
{
    (void)s;
    return migration_unsupported(__func__);
}

SPICE_EXPORT int spice_server_migrate_end(SpiceServer *s, int completed)
{
    (void)s, (void)completed;
    return migration_unsupported(__func__);
}

SPICE_EXPORT SpiceReplay *spice_replay_new(FILE *file, int nsurfaces)
{
    (void)file, (void)nsurfaces;
    g_warning("spice_replay_new: replaying recorded QXL commands is not supported by this "
              "build");
    return NULL;
}

SPICE_EXPORT QXLCommandExt *spice_replay_next_cmd(SpiceReplay *replay, QXLInstance *instance)
{
    (void)instance;
    g_return_val_if_fail(replay != NULL, NULL);
    return NULL;
}

SPICE_EXPORT void spice_replay_free_cmd(SpiceReplay *replay, QXLCommandExt *cmd)
{
    (void)cmd;
    g_return_if_fail(replay != NULL);
}

SPICE_EXPORT void spice_replay_free(SpiceReplay *replay)
{
    g_return_if_fail(replay != NULL);
}
