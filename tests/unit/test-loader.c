/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-loader.c: the plugin loader: descriptor validation with the exact
 * messages operators see, the deployment config, the search path and the
 * server's handling of required and optional plugins.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <spice/enums.h>

#include "common/test-client.h"
#include "common/test-server.h"
#include "plugin-loader.h"
#include "spice-plugin-wire.h"

#define ABI_STR_(a, b) #a "." #b
#define ABI_STR(a, b)  ABI_STR_(a, b)

/* ---- descriptors built in memory ---------------------------------------------- */

static int ok_connect(SpiceChannel *ch, SpiceChannelClient *cc)
{
    (void)ch, (void)cc;
    return 0;
}

static int ok_handle(SpiceChannelClient *cc, uint16_t t, const uint8_t *b, uint32_t n)
{
    (void)cc, (void)t, (void)b, (void)n;
    return -ENOTSUP;
}

static int ok_init(SpicePlugin *p, const SpiceHostServices *h)
{
    (void)p, (void)h;
    return 0;
}

static int ok_add(SpicePlugin *p, SpiceBaseInstance *sin, void **data)
{
    (void)p, (void)sin, (void)data;
    return 0;
}

static SpiceChannelOps good_ops;
static SpiceChannelClass good_class;
static const SpiceChannelClass *good_channels[3];
static SpiceInterfaceClass good_iface;
static const SpiceInterfaceClass *good_ifaces[2];

static SpicePluginDescriptor good_descriptor(void)
{
    good_ops =
        (SpiceChannelOps){ .version = 1, .connect = ok_connect, .handle_message = ok_handle };
    good_class = (SpiceChannelClass){ .size = sizeof(SpiceChannelClass),
                                      .type = 200,
                                      .name = "x",
                                      .max_message_size = 100,
                                      .ops = &good_ops };
    good_channels[0] = &good_class;
    good_channels[1] = NULL;
    good_iface = (SpiceInterfaceClass){ .size = sizeof(SpiceInterfaceClass),
                                        .type = SPICE_INTERFACE_KEYBOARD,
                                        .major = 1,
                                        .minor = 1,
                                        .add = ok_add };
    good_ifaces[0] = &good_iface;
    good_ifaces[1] = NULL;
    SpicePluginDescriptor d = {
        .magic = SPICE_PLUGIN_MAGIC,
        .abi_major = SPICE_PLUGIN_ABI_MAJOR,
        .abi_minor = SPICE_PLUGIN_ABI_MINOR,
        .size = sizeof(SpicePluginDescriptor),
        .name = "good",
        .version = "1",
        .license = "MIT",
        .description = "d",
        .channels = good_channels,
        .interfaces = good_ifaces,
        .init = ok_init,
    };
    return d;
}

static void assert_invalid(const SpicePluginDescriptor *d, const char *message)
{
    g_autoptr(GError) error = NULL;
    g_assert_false(plugin_descriptor_validate(d, "/p/libspice-plugin-good.so", "good", &error));
    g_assert_nonnull(error);
    g_assert_cmpstr(error->message, ==, message);
}

static void test_validate(void)
{
    SpicePluginDescriptor d = good_descriptor();
    g_autoptr(GError) error = NULL;
    g_assert_true(plugin_descriptor_validate(&d, "/p/x.so", "good", &error));
    g_assert_no_error(error);

    assert_invalid(NULL, "/p/libspice-plugin-good.so: the query function returned no descriptor");

    d = good_descriptor();
    d.magic = 0x12345678;
    assert_invalid(&d, "/p/libspice-plugin-good.so: bad magic 0x12345678 (expected 0x474c5053): "
                       "not a spice channel plugin");

    d = good_descriptor();
    d.abi_major = SPICE_PLUGIN_ABI_MAJOR + 1;
    d.abi_minor = 0;
    g_autofree char *major_msg = g_strdup_printf(
        "/p/libspice-plugin-good.so: built for plugin ABI %d.0; this server provides %d.%d "
        "(major versions differ)",
        SPICE_PLUGIN_ABI_MAJOR + 1, SPICE_PLUGIN_ABI_MAJOR, SPICE_PLUGIN_ABI_MINOR);
    assert_invalid(&d, major_msg);

    d = good_descriptor();
    d.abi_minor = SPICE_PLUGIN_ABI_MINOR + 6;
    g_autofree char *minor_msg = g_strdup_printf(
        "/p/libspice-plugin-good.so: built for plugin ABI %d.%d; this server provides %d.%d "
        "(the plugin needs a newer server)",
        SPICE_PLUGIN_ABI_MAJOR, SPICE_PLUGIN_ABI_MINOR + 6, SPICE_PLUGIN_ABI_MAJOR,
        SPICE_PLUGIN_ABI_MINOR);
    assert_invalid(&d, minor_msg);

    /* An older minor is fine. */
    d = good_descriptor();
    d.abi_minor = 0;
    g_assert_true(plugin_descriptor_validate(&d, "/p/x.so", "good", NULL));

    d = good_descriptor();
    d.size = 8;
    g_autofree char *size_msg = g_strdup_printf(
        "/p/libspice-plugin-good.so: invalid descriptor: size 8 is outside %zu..65536",
        offsetof(SpicePluginDescriptor, server_event) + sizeof(void *));
    assert_invalid(&d, size_msg);

    d = good_descriptor();
    d.name = "bad";
    assert_invalid(&d, "/p/libspice-plugin-good.so: invalid descriptor: name 'bad' does not "
                       "match the file name (expected 'good')");
    d.name = NULL;
    assert_invalid(&d, "/p/libspice-plugin-good.so: invalid descriptor: name '(null)' does not "
                       "match the file name (expected 'good')");

    d = good_descriptor();
    d.license = NULL;
    assert_invalid(&d, "/p/libspice-plugin-good.so: invalid descriptor: version, license and "
                       "description are required");

    d = good_descriptor();
    d.init = NULL;
    assert_invalid(&d, "/p/libspice-plugin-good.so: invalid descriptor: no init function");

    d = good_descriptor();
    good_class.ops = NULL;
    assert_invalid(&d, "/p/libspice-plugin-good.so: invalid descriptor: channel class 'x' lacks "
                       "operations (connect and handle_message are required)");

    d = good_descriptor();
    good_ops.version = 99;
    g_autofree char *ops_msg = g_strdup_printf(
        "/p/libspice-plugin-good.so: invalid descriptor: channel class 'x' has operations "
        "version 99; this server knows up to %d",
        SPICE_CHANNEL_OPS_VERSION);
    assert_invalid(&d, ops_msg);

    d = good_descriptor();
    good_class.type = 0;
    assert_invalid(&d, "/p/libspice-plugin-good.so: invalid descriptor: channel class 'x' has "
                       "unusable type 0");

    d = good_descriptor();
    good_class.max_message_size = 0;
    assert_invalid(&d, "/p/libspice-plugin-good.so: invalid descriptor: channel class 'x': "
                       "max_message_size 0 is not within 1..64 MiB");

    d = good_descriptor();
    good_class.n_caps = 3;
    assert_invalid(&d, "/p/libspice-plugin-good.so: invalid descriptor: channel class 'x' "
                       "announces 3 caps but lists none");

    d = good_descriptor();
    good_class.size = 4;
    g_autofree char *csize_msg = g_strdup_printf(
        "/p/libspice-plugin-good.so: invalid descriptor: channel class size 4 is smaller than "
        "%zu",
        offsetof(SpiceChannelClass, ops) + sizeof(void *));
    assert_invalid(&d, csize_msg);

    d = good_descriptor();
    good_channels[1] = &good_class;
    const SpiceChannelClass *three[3] = { &good_class, &good_class, NULL };
    d.channels = three;
    assert_invalid(&d, "/p/libspice-plugin-good.so: invalid descriptor: channel type 200 "
                       "declared twice");

    d = good_descriptor();
    good_iface.major = 2;
    assert_invalid(&d, "/p/libspice-plugin-good.so: invalid descriptor: interface 'keyboard' "
                       "implemented at version 2.1; this server's interface is 1.1");

    d = good_descriptor();
    good_iface.type = "teleporter";
    assert_invalid(&d, "/p/libspice-plugin-good.so: invalid descriptor: unknown interface type "
                       "'teleporter'");

    d = good_descriptor();
    good_iface.type = SPICE_INTERFACE_CHAR_DEVICE;
    good_iface.major = 1;
    good_iface.minor = 3;
    assert_invalid(&d, "/p/libspice-plugin-good.so: invalid descriptor: char_device interface "
                       "without a subtype");

    d = good_descriptor();
    good_iface.add = NULL;
    assert_invalid(&d, "/p/libspice-plugin-good.so: invalid descriptor: interface class without "
                       "a type or an add function");
}

/* ---- fixtures on disk ------------------------------------------------------------- */

static void assert_open_fails(const char *name, const char *suffix)
{
    g_autofree char *path = g_strdup_printf("%s/libspice-plugin-%s.so", FIXTURE_DIR, name);
    GModule *module = NULL;
    const SpicePluginDescriptor *desc = NULL;
    g_autoptr(GError) error = NULL;
    g_assert_false(plugin_module_open(path, name, &module, &desc, &error));
    g_autofree char *expected = g_strconcat(path, ": ", suffix, NULL);
    g_assert_cmpstr(error->message, ==, expected);
}

static void test_open_fixtures(void)
{
    g_autofree char *future = g_strdup_printf(
        "built for plugin ABI %d.%d; this server provides %d.%d (the plugin needs a newer "
        "server)",
        SPICE_PLUGIN_ABI_MAJOR, SPICE_PLUGIN_ABI_MINOR + 1, SPICE_PLUGIN_ABI_MAJOR,
        SPICE_PLUGIN_ABI_MINOR);
    assert_open_fails("future", future);
    g_autofree char *futuremajor = g_strdup_printf(
        "built for plugin ABI %d.%d; this server provides %d.%d (major versions differ)",
        SPICE_PLUGIN_ABI_MAJOR + 1, SPICE_PLUGIN_ABI_MINOR, SPICE_PLUGIN_ABI_MAJOR,
        SPICE_PLUGIN_ABI_MINOR);
    assert_open_fails("futuremajor", futuremajor);
    assert_open_fails("badmagic",
                      "bad magic 0xdeadbeef (expected 0x474c5053): not a spice channel plugin");
    assert_open_fails("noentry", "no entry point spice_plugin_noentry_query()");
    assert_open_fails("badname", "invalid descriptor: name 'othername' does not match the file "
                                 "name (expected 'badname')");
    assert_open_fails("noinit", "invalid descriptor: no init function");

    /* Not a shared object at all. */
    g_autofree char *dir = g_dir_make_tmp("spice-loader-XXXXXX", NULL);
    g_autofree char *junk = g_build_filename(dir, "libspice-plugin-junk.so", NULL);
    g_assert_true(g_file_set_contents(junk, "not an ELF file", -1, NULL));
    GModule *module = NULL;
    const SpicePluginDescriptor *desc = NULL;
    g_autoptr(GError) error = NULL;
    g_assert_false(plugin_module_open(junk, "junk", &module, &desc, &error));
    g_assert_true(g_str_has_prefix(error->message, junk));
    g_assert_nonnull(strstr(error->message, "cannot be opened"));
    g_unlink(junk);
    g_rmdir(dir);

    /* The old fixture (older minor) opens. */
    g_autofree char *old = g_strdup_printf("%s/libspice-plugin-old.so", FIXTURE_DIR);
    g_assert_true(plugin_module_open(old, "old", &module, &desc, NULL));
    g_assert_cmpuint(desc->abi_minor, ==, 0);
    g_module_close(module);
}

/* ---- config ----------------------------------------------------------------------- */

static char *write_config(const char *text)
{
    g_autofree char *dir = g_dir_make_tmp("spice-conf-XXXXXX", NULL);
    char *path = g_build_filename(dir, "plugins.conf", NULL);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    return path;
}

static void remove_config(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_unlink(path);
    g_rmdir(dir);
}

static bool enabled(PluginConfig *c, const char *name, const char **why)
{
    return plugin_config_enabled(c, name, why);
}

static void test_config_defaults(void)
{
    g_unsetenv("SPICE_PLUGIN_ENABLE");
    g_unsetenv("SPICE_PLUGIN_DISABLE");
    g_autoptr(PluginConfig) c = plugin_config_load("/nonexistent/plugins.conf", NULL);
    g_assert_null(c); /* an explicit file must exist */

    g_setenv("SPICE_PLUGIN_CONFIG", "", TRUE);
    PluginConfig *d = plugin_config_load(NULL, NULL);
    g_assert_nonnull(d);
    const char *why;
    g_assert_true(enabled(d, "inputs", &why));
    g_assert_cmpstr(why, ==, "enabled (by default every installed plugin is)");
    g_assert_true(enabled(d, "main", &why));
    g_assert_cmpstr(why, ==, "always enabled (main channel)");
    g_assert_false(plugin_config_optional(d, "inputs"));
    g_assert_null(plugin_config_file(d));
    plugin_config_free(d);
}

static void test_config_file(void)
{
    g_unsetenv("SPICE_PLUGIN_ENABLE");
    g_unsetenv("SPICE_PLUGIN_DISABLE");
    g_autofree char *path = write_config("[channels]\n"
                                         "enable=inputs;display, usbredir\n"
                                         "disable=usbredir\n"
                                         "optional=display\n"
                                         "[plugin inputs]\n"
                                         "optional=true\n"
                                         "speed=fast\n");
    g_autoptr(GError) error = NULL;
    PluginConfig *c = plugin_config_load(path, &error);
    g_assert_no_error(error);
    const char *why;
    g_assert_true(enabled(c, "inputs", &why));
    g_autofree char *e1 = g_strdup_printf("enabled by %s [channels] enable", path);
    g_assert_cmpstr(why, ==, e1);
    g_assert_false(enabled(c, "usbredir", &why));
    g_autofree char *e2 = g_strdup_printf("disabled by %s [channels] disable", path);
    g_assert_cmpstr(why, ==, e2);
    g_assert_false(enabled(c, "playback", &why));
    g_autofree char *e3 = g_strdup_printf("not listed in %s [channels] enable", path);
    g_assert_cmpstr(why, ==, e3);
    g_assert_true(enabled(c, "main", &why)); /* not listed, but always on */
    g_assert_true(plugin_config_optional(c, "display"));
    g_assert_true(plugin_config_optional(c, "inputs"));
    g_assert_false(plugin_config_optional(c, "playback"));
    g_assert_false(plugin_config_optional(c, "main"));
    /* Requested: enable list minus disabled. */
    const char *const *req = plugin_config_requested(c);
    g_assert_cmpstr(req[0], ==, "inputs");
    g_assert_cmpstr(req[1], ==, "display");
    g_assert_null(req[2]);
    GHashTable *section = plugin_config_section(c, "inputs");
    g_assert_cmpstr(g_hash_table_lookup(section, "speed"), ==, "fast");
    g_hash_table_unref(section);
    g_assert_cmpstr(plugin_config_file(c), ==, path);

    /* The environment overrides the file's enable list and adds disables. */
    g_setenv("SPICE_PLUGIN_ENABLE", "playback", TRUE);
    g_setenv("SPICE_PLUGIN_DISABLE", "display", TRUE);
    plugin_config_free(c);
    c = plugin_config_load(path, NULL);
    g_assert_true(enabled(c, "playback", &why));
    g_assert_cmpstr(why, ==, "enabled by SPICE_PLUGIN_ENABLE");
    g_assert_false(enabled(c, "inputs", &why));
    g_assert_cmpstr(why, ==, "not listed in SPICE_PLUGIN_ENABLE");
    g_assert_false(enabled(c, "display", &why));
    g_assert_cmpstr(why, ==, "disabled by SPICE_PLUGIN_DISABLE");
    g_setenv("SPICE_PLUGIN_DISABLE", "main", TRUE);
    plugin_config_free(c);
    c = plugin_config_load(path, NULL);
    g_assert_false(enabled(c, "main", &why));
    g_assert_cmpstr(why, ==, "the main plugin cannot be disabled (SPICE_PLUGIN_DISABLE)");
    plugin_config_free(c);
    g_unsetenv("SPICE_PLUGIN_ENABLE");
    g_unsetenv("SPICE_PLUGIN_DISABLE");
    remove_config(path);
}

static void test_config_hostile(void)
{
    static const char *const bad[] = {
        "[channels\nenable=x\n",
        "enable=x\n",
        "[channels]\nenable\n",
        "\xff\xfe\x00garbage",
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *path = write_config(bad[i]);
        g_autoptr(GError) error = NULL;
        PluginConfig *c = plugin_config_load(path, &error);
        g_assert_null(c);
        g_assert_nonnull(error);
        g_assert_true(g_str_has_prefix(error->message, "plugin config file "));
        remove_config(path);
    }
    /* Empty lists and separators only: valid, enables nothing but main. */
    g_autofree char *path = write_config("[channels]\nenable=;;, ,\n");
    PluginConfig *c = plugin_config_load(path, NULL);
    const char *why;
    g_assert_false(enabled(c, "inputs", &why));
    g_assert_true(enabled(c, "main", &why));
    g_assert_null(plugin_config_requested(c)[0]);
    plugin_config_free(c);
    remove_config(path);
}

static void test_scan(void)
{
    g_autofree char *a = g_dir_make_tmp("spice-scan-a-XXXXXX", NULL);
    g_autofree char *b = g_dir_make_tmp("spice-scan-b-XXXXXX", NULL);
    const char *files_a[] = { "libspice-plugin-zeta.so",
                              "libspice-plugin-main.so",
                              "libspice-plugin-.so",
                              "libspice-plugin-x.so.1",
                              "README",
                              "libspice-plugin-alpha.so" };
    for (unsigned i = 0; i < G_N_ELEMENTS(files_a); i++) {
        g_autofree char *p = g_build_filename(a, files_a[i], NULL);
        g_file_set_contents(p, "", 0, NULL);
    }
    g_autofree char *dup = g_build_filename(b, "libspice-plugin-alpha.so", NULL);
    g_file_set_contents(dup, "", 0, NULL);
    char *dirs[] = { a, b, (char *)"/nonexistent", NULL };
    GPtrArray *files = plugin_scan(dirs);
    g_assert_cmpuint(files->len, ==, 3);
    PluginFile *f0 = g_ptr_array_index(files, 0);
    PluginFile *f1 = g_ptr_array_index(files, 1);
    PluginFile *f2 = g_ptr_array_index(files, 2);
    g_assert_cmpstr(f0->name, ==, "main");
    g_assert_cmpstr(f1->name, ==, "alpha");
    g_assert_cmpstr(f1->shadowed, ==, dup);
    g_assert_cmpstr(f2->name, ==, "zeta");
    g_assert_null(f2->shadowed);
    g_ptr_array_unref(files);

    g_autofree char *sym = plugin_query_symbol("my-plugin");
    g_assert_cmpstr(sym, ==, "spice_plugin_my_plugin_query");

    g_setenv("SPICE_PLUGIN_PATH", "/first:/second::", TRUE);
    char **path = plugin_search_path();
    g_assert_cmpstr(path[0], ==, "/first");
    g_assert_cmpstr(path[1], ==, "/second");
    g_strfreev(path);
    g_unsetenv("SPICE_PLUGIN_PATH");

    for (unsigned i = 0; i < G_N_ELEMENTS(files_a); i++) {
        g_autofree char *p = g_build_filename(a, files_a[i], NULL);
        g_unlink(p);
    }
    g_unlink(dup);
    g_rmdir(a);
    g_rmdir(b);
}

/* ---- the server with fixtures --------------------------------------------------- */

static void expect_init_failure(const char *enable, const char *pattern)
{
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING, pattern);
    TestServerConfig cfg = { .plugin_path = FIXTURE_DIR,
                             .plugin_enable = enable,
                             .no_keyboard = true,
                             .no_mouse = true,
                             .no_tablet = true };
    TestServer *ts = test_server_start(&cfg);
    g_assert_null(ts);
    g_test_assert_expected_messages();
}

static void test_server_rejects(void)
{
    expect_init_failure("future", "spice_server_init failed: " FIXTURE_DIR
                                  "/libspice-plugin-future.so: built for plugin ABI *");
    expect_init_failure("futuremajor", "*/libspice-plugin-futuremajor.so: built for plugin ABI "
                                       "*major versions differ*");
    expect_init_failure("badmagic", "*/libspice-plugin-badmagic.so: bad magic 0xdeadbeef*");
    expect_init_failure("noentry", "*/libspice-plugin-noentry.so: no entry point "
                                   "spice_plugin_noentry_query()");
    expect_init_failure("initfail", "*/libspice-plugin-initfail.so: init failed: simulated "
                                    "failure for the test suite (Input/output error)");
    expect_init_failure("inputs,dupinputs",
                        "*: channel type 3 (inputs) is already provided by plugin *");
    expect_init_failure("missing", "spice_server_init failed: plugin 'missing' is enabled but "
                                   "libspice-plugin-missing.so is not in the plugin path *");
}

static void setup_optional(SpiceServer *s, void *opaque)
{
    (void)s;
    g_setenv("SPICE_PLUGIN_CONFIG", opaque, TRUE);
}

static void test_server_optional(void)
{
    /* An optional plugin that fails is skipped; its channel never shows. */
    g_autofree char *path = write_config("[channels]\n"
                                         "enable=inputs;initfail;future;missing;old\n"
                                         "optional=initfail;missing\n"
                                         "[plugin future]\noptional=true\n");
    g_test_expect_message("spicecore", G_LOG_LEVEL_MESSAGE,
                          "optional plugin future skipped: *built for plugin ABI*");
    g_test_expect_message("spicecore", G_LOG_LEVEL_MESSAGE,
                          "optional plugin initfail skipped: *simulated failure*");
    g_test_expect_message("spicecore", G_LOG_LEVEL_MESSAGE,
                          "optional plugin missing skipped: *not in the plugin path*");
    TestServerConfig cfg = { .plugin_path = FIXTURE_DIR, .setup = setup_optional, .opaque = path };
    TestServer *ts = test_server_start(&cfg);
    g_setenv("SPICE_PLUGIN_CONFIG", "", TRUE);
    g_assert_nonnull(ts);
    g_test_assert_expected_messages();

    /* The old plugin (older ABI minor) loaded and its channel is listed. */
    uint32_t session;
    TestClient *c = test_client_main(test_server_port(ts), NULL, &session);
    g_assert_true(test_client_send(c, SPICE_MSGC_MAIN_ATTACH_CHANNELS, NULL, 0));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c, SPICE_MSG_MAIN_CHANNELS_LIST, &body, &size));
    g_assert_cmpuint(spice_wire_get_u32(body), ==, 2);
    bool have_old = false, have_inputs = false;
    for (uint32_t i = 0; i < 2; i++) {
        have_old |= body[4 + 2 * i] == 201;
        have_inputs |= body[4 + 2 * i] == SPICE_CHANNEL_INPUTS;
    }
    g_assert_true(have_old && have_inputs);
    g_free(body);
    test_client_free(c);
    test_server_stop(ts);
    remove_config(path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_setenv("SPICE_PLUGIN_CONFIG", "", TRUE);
    g_test_add_func("/loader/validate", test_validate);
    g_test_add_func("/loader/open-fixtures", test_open_fixtures);
    g_test_add_func("/loader/config-defaults", test_config_defaults);
    g_test_add_func("/loader/config-file", test_config_file);
    g_test_add_func("/loader/config-hostile", test_config_hostile);
    g_test_add_func("/loader/scan", test_scan);
    g_test_add_func("/loader/server-rejects", test_server_rejects);
    g_test_add_func("/loader/server-optional", test_server_optional);
    return g_test_run();
}
