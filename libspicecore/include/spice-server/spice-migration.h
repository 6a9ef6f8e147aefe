/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spice-migration.h: moving connected clients along with a migrating VM.
 */
#ifndef SPICE_MIGRATION_H_
#define SPICE_MIGRATION_H_

#if !defined(SPICE_H_INSIDE) && !defined(SPICE_SERVER_INTERNAL)
#error "include <spice.h>, not this header"
#endif

#include "spice-core.h"

SPICE_BEGIN_DECLS

#define SPICE_INTERFACE_MIGRATION       "migration"
#define SPICE_INTERFACE_MIGRATION_MAJOR 1
#define SPICE_INTERFACE_MIGRATION_MINOR 1
typedef struct SpiceMigrateInterface SpiceMigrateInterface;
typedef struct SpiceMigrateInstance SpiceMigrateInstance;
typedef struct SpiceMigrateState SpiceMigrateState;

struct SpiceMigrateInterface {
    SpiceBaseInterface base;

    void (*migrate_connect_complete)(SpiceMigrateInstance *sin);
    void (*migrate_end_complete)(SpiceMigrateInstance *sin);
};

struct SpiceMigrateInstance {
    SpiceBaseInstance base;
    SpiceMigrateState *st;
};

int spice_server_migrate_info(SpiceServer *s, const char *dest, int port, int secure_port,
                              const char *cert_subject) SPICE_GNUC_DEPRECATED;
int spice_server_migrate_switch(SpiceServer *s) SPICE_GNUC_DEPRECATED;

int spice_server_migrate_connect(SpiceServer *s, const char *dest, int port, int secure_port,
                                 const char *cert_subject);
int spice_server_migrate_start(SpiceServer *s);
int spice_server_migrate_end(SpiceServer *s, int completed);
void spice_server_set_seamless_migration(SpiceServer *s, int enable);

SPICE_END_DECLS

#endif /* SPICE_MIGRATION_H_ */
