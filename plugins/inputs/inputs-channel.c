/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * inputs-channel.c: the INPUTS channel (libspice-plugin-inputs.so) and
 * the host's keyboard, mouse and tablet interfaces.
 *
 * Keys arrive as PC/XT scan code set 1: KEY_DOWN/KEY_UP carry up to four
 * bytes in one little-endian u32 (0xE0-prefixed extended keys are
 * 0x..E0), KEY_SCANCODE carries raw bytes. Each byte goes to the
 * keyboard's push_scan_freg. Pressed keys are tracked so they can be
 * released when the client goes away; lock keys are tracked so the
 * client's KEY_MODIFIERS can be turned into lock-key presses.
 *
 * Pointer: in server mouse mode relative motion and buttons go to the
 * mouse interface; in client mode absolute positions, wheel and buttons
 * go to the tablet. Every fourth motion is acknowledged
 * (MOUSE_MOTION_ACK) so the client keeps sending.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <spice/enums.h>
#include <spice/protocol.h>
#include <spice/vd_agent.h>

#include "spice-plugin-wire.h"
#include "spice-plugin.h"

#define INPUTS_MAX_MESSAGE   2048
#define KEY_MODIFIERS_TTL_MS 2000
#define SCAN_RELEASE         0x80
#define SCROLL_LOCK_SCAN     0x46
#define NUM_LOCK_SCAN        0x45
#define CAPS_LOCK_SCAN       0x3a

typedef struct InputsPlugin {
    SpicePlugin *plugin;
    SpiceChannel *channel;
    SpiceChannelClient *cc; /* the connected client, one at a time */
    SpiceKbdInstance *kbd;
    SpiceMouseInstance *mouse;
    SpiceTabletInstance *tablet;
    SpicePluginTimer *modifiers_timer;

    uint8_t modifiers;         /* lock state as we believe the guest has it */
    uint8_t modifiers_pressed; /* lock keys currently held */
    uint8_t ext_prefix;        /* 0xE0..0xE2 seen just before, else 0 */
    bool key[0x80];            /* plain keys held */
    bool key_ext[0x80];        /* 0xE0-prefixed keys held */
    SpicePrimaryInfo primary;  /* last primary surface announced */
    SpiceTopicSubscription *primary_sub;
    SpiceTopicSubscription *agent_sub;
    bool agent;                /* "spice.agent": a guest agent takes the pointer */
    uint32_t agent_x, agent_y; /* last position given to it */
    uint32_t agent_display;
} InputsPlugin;

typedef struct InputsClient {
    InputsPlugin *ip;
    uint32_t motions;
} InputsClient;

static const SpiceHostServices *host;

static void update_tablet_size(InputsPlugin *ip);

/* ---- keyboard ----------------------------------------------------------------- */

static void push_scan(InputsPlugin *ip, uint8_t scan)
{
    if (!ip->kbd) {
        return;
    }
    if (scan >= 0xe0 && scan <= 0xe2) {
        ip->ext_prefix = scan;
    } else {
        if (ip->ext_prefix == 0 || ip->ext_prefix == 0xe0) {
            bool *state = ip->ext_prefix ? ip->key_ext : ip->key;
            state[scan & 0x7f] = !(scan & SCAN_RELEASE);
        }
        ip->ext_prefix = 0;
    }
    const SpiceKbdInterface *sif = (const SpiceKbdInterface *)ip->kbd->base.sif;
    sif->push_scan_freg(ip->kbd, scan);
}

static uint8_t lock_flag(uint8_t scan)
{
    switch (scan & ~SCAN_RELEASE) {
    case CAPS_LOCK_SCAN:
        return SPICE_KEYBOARD_MODIFIER_FLAGS_CAPS_LOCK;
    case NUM_LOCK_SCAN:
        return SPICE_KEYBOARD_MODIFIER_FLAGS_NUM_LOCK;
    case SCROLL_LOCK_SCAN:
        return SPICE_KEYBOARD_MODIFIER_FLAGS_SCROLL_LOCK;
    default:
        return 0;
    }
}

/* Track lock keys: a press of a lock key that is not held toggles it, and
 * after a while we tell the client what the guest's LEDs say. */
static void sync_locks(InputsPlugin *ip, uint8_t scan)
{
    uint8_t flag = lock_flag(scan);
    if (!flag) {
        return;
    }
    if (scan & SCAN_RELEASE) {
        ip->modifiers_pressed &= (uint8_t)~flag;
    } else if (!(ip->modifiers_pressed & flag)) {
        ip->modifiers ^= flag;
        ip->modifiers_pressed |= flag;
        host->timer_start(ip->modifiers_timer, KEY_MODIFIERS_TTL_MS);
    }
}

static void push_key_bytes(InputsPlugin *ip, const uint8_t *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        push_scan(ip, bytes[i]);
        sync_locks(ip, bytes[i]);
    }
}

/* KEY_DOWN / KEY_UP: the non-zero low bytes of code, lowest first. */
static void push_key_code(InputsPlugin *ip, uint32_t code)
{
    for (int i = 0; i < 4; i++) {
        uint8_t b = (uint8_t)(code >> (8 * i));
        if (b == 0) {
            break;
        }
        push_key_bytes(ip, &b, 1);
    }
}

static void release_keys(InputsPlugin *ip)
{
    for (unsigned i = 0; i < 0x80; i++) {
        if (ip->key[i]) {
            ip->key[i] = false;
            push_scan(ip, (uint8_t)(i | SCAN_RELEASE));
        }
    }
    for (unsigned i = 0; i < 0x80; i++) {
        if (ip->key_ext[i]) {
            ip->key_ext[i] = false;
            push_scan(ip, 0xe0);
            push_scan(ip, (uint8_t)(i | SCAN_RELEASE));
        }
    }
    ip->modifiers_pressed = 0;
}

static void send_modifiers(InputsPlugin *ip)
{
    if (!ip->cc) {
        return;
    }
    uint8_t body[2];
    spice_wire_put_u16(body, ip->modifiers);
    host->channel_client_send(ip->cc, SPICE_MSG_INPUTS_KEY_MODIFIERS, body, sizeof(body));
}

static void modifiers_timer_cb(void *opaque)
{
    send_modifiers(opaque);
}

/* Client's lock state differs from ours: press and release each lock key
 * that differs (unless it is being held right now). */
static void apply_client_modifiers(InputsPlugin *ip, uint16_t wanted)
{
    static const struct {
        uint8_t flag;
        uint8_t scan;
    } locks[] = {
        { SPICE_KEYBOARD_MODIFIER_FLAGS_SCROLL_LOCK, SCROLL_LOCK_SCAN },
        { SPICE_KEYBOARD_MODIFIER_FLAGS_NUM_LOCK, NUM_LOCK_SCAN },
        { SPICE_KEYBOARD_MODIFIER_FLAGS_CAPS_LOCK, CAPS_LOCK_SCAN },
    };
    if (!ip->kbd) {
        return;
    }
    for (unsigned i = 0; i < sizeof(locks) / sizeof(locks[0]); i++) {
        uint8_t f = locks[i].flag;
        if (!(ip->modifiers_pressed & f) && ((wanted & f) != (ip->modifiers & f))) {
            push_scan(ip, locks[i].scan);
            push_scan(ip, locks[i].scan | SCAN_RELEASE);
            ip->modifiers ^= f;
        }
    }
    host->timer_start(ip->modifiers_timer, KEY_MODIFIERS_TTL_MS);
}

/* ---- pointer ---------------------------------------------------------------------- */

/* SPICE button masks to the host's: left stays, middle and right swap,
 * side/extra and up move one bit higher. */
static uint32_t buttons_to_local(uint32_t state)
{
    return (state & SPICE_MOUSE_BUTTON_MASK_LEFT) |
           ((state & (SPICE_MOUSE_BUTTON_MASK_MIDDLE | 0xffe0)) << 1) |
           ((state & SPICE_MOUSE_BUTTON_MASK_RIGHT) >> 1);
}

static bool client_mode(InputsPlugin *ip)
{
    return host->mouse_mode_get(ip->plugin, NULL) == SPICE_MOUSE_MODE_CLIENT;
}

/* Client mode with agent-mouse on and an agent attached: the pointer
 * goes to the agent (VD_AGENT_MOUSE_STATE), not to the tablet. */
static bool agent_mouse(InputsPlugin *ip)
{
    return ip->agent && host->server_get_int(ip->plugin, SPICE_SERVER_INT_AGENT_MOUSE);
}

/* SPICE button masks to the agent's (VD_AGENT_LBUTTON_MASK is bit 1). */
static uint32_t buttons_to_agent(uint32_t state)
{
    return ((state & SPICE_MOUSE_BUTTON_MASK_LEFT) ? VD_AGENT_LBUTTON_MASK : 0) |
           ((state & SPICE_MOUSE_BUTTON_MASK_MIDDLE) ? VD_AGENT_MBUTTON_MASK : 0) |
           ((state & SPICE_MOUSE_BUTTON_MASK_RIGHT) ? VD_AGENT_RBUTTON_MASK : 0);
}

static void send_agent_mouse(InputsPlugin *ip, uint32_t buttons)
{
    SpiceAgentMouseState m = { .size = sizeof(m),
                               .x = ip->agent_x,
                               .y = ip->agent_y,
                               .buttons = buttons,
                               .display_id = ip->agent_display };
    host->topic_publish(ip->plugin, SPICE_TOPIC_AGENT_MOUSE, 0, &m, sizeof(m), 0);
}

static void motion_seen(InputsPlugin *ip, InputsClient *ic, SpiceChannelClient *cc)
{
    (void)ip;
    if (++ic->motions % SPICE_INPUT_MOTION_ACK_BUNCH == 0) {
        host->channel_client_send(cc, SPICE_MSG_INPUTS_MOUSE_MOTION_ACK, NULL, 0);
    }
}

/* ---- messages ------------------------------------------------------------------------ */

static int malformed(InputsPlugin *ip, const char *what, uint32_t size)
{
    host->log(ip->plugin, SPICE_PLUGIN_LOG_MESSAGE, "malformed %s message (%u bytes)", what, size);
    return -EINVAL;
}

static int inputs_handle_message(SpiceChannelClient *cc, uint16_t type, const uint8_t *body,
                                 uint32_t size)
{
    InputsClient *ic = host->channel_client_get_data(cc);
    InputsPlugin *ip = ic->ip;
    SpiceWireReader r = spice_wire_reader(body, size);

    switch (type) {
    case SPICE_MSGC_INPUTS_KEY_DOWN:
    case SPICE_MSGC_INPUTS_KEY_UP: {
        uint32_t code = spice_wire_u32(&r);
        if (r.error) {
            return malformed(ip, "KEY_DOWN/KEY_UP", size);
        }
        push_key_code(ip, code);
        return 0;
    }
    case SPICE_MSGC_INPUTS_KEY_SCANCODE:
        push_key_bytes(ip, body, size);
        return 0;
    case SPICE_MSGC_INPUTS_KEY_MODIFIERS: {
        uint16_t mods = spice_wire_u16(&r);
        if (r.error) {
            return malformed(ip, "KEY_MODIFIERS", size);
        }
        apply_client_modifiers(ip, mods);
        return 0;
    }
    case SPICE_MSGC_INPUTS_MOUSE_MOTION: {
        int32_t dx = spice_wire_i32(&r);
        int32_t dy = spice_wire_i32(&r);
        uint16_t buttons = spice_wire_u16(&r);
        if (r.error) {
            return malformed(ip, "MOUSE_MOTION", size);
        }
        motion_seen(ip, ic, cc);
        if (ip->mouse && !client_mode(ip)) {
            const SpiceMouseInterface *sif = (const SpiceMouseInterface *)ip->mouse->base.sif;
            sif->motion(ip->mouse, dx, dy, 0, buttons_to_local(buttons));
        }
        return 0;
    }
    case SPICE_MSGC_INPUTS_MOUSE_POSITION: {
        uint32_t x = spice_wire_u32(&r);
        uint32_t y = spice_wire_u32(&r);
        uint16_t buttons = spice_wire_u16(&r);
        uint8_t display = spice_wire_u8(&r); /* one display per tablet */
        if (r.error) {
            return malformed(ip, "MOUSE_POSITION", size);
        }
        motion_seen(ip, ic, cc);
        if (client_mode(ip) && agent_mouse(ip)) {
            ip->agent_x = x;
            ip->agent_y = y;
            ip->agent_display = display;
            send_agent_mouse(ip, buttons_to_agent(buttons));
        } else if (ip->tablet && client_mode(ip)) {
            const SpiceTabletInterface *sif = (const SpiceTabletInterface *)ip->tablet->base.sif;
            sif->position(ip->tablet, (int)x, (int)y, buttons_to_local(buttons));
        }
        return 0;
    }
    case SPICE_MSGC_INPUTS_MOUSE_PRESS:
    case SPICE_MSGC_INPUTS_MOUSE_RELEASE: {
        uint8_t button = spice_wire_u8(&r);
        uint16_t buttons = spice_wire_u16(&r);
        if (r.error) {
            return malformed(ip, "MOUSE_PRESS/MOUSE_RELEASE", size);
        }
        bool press = type == SPICE_MSGC_INPUTS_MOUSE_PRESS;
        int dz = 0;
        if (press && button == SPICE_MOUSE_BUTTON_UP) {
            dz = -1;
        } else if (press && button == SPICE_MOUSE_BUTTON_DOWN) {
            dz = 1;
        }
        uint32_t local = buttons_to_local(buttons);
        if (client_mode(ip) && agent_mouse(ip)) {
            uint32_t wheel = dz < 0 ? VD_AGENT_UBUTTON_MASK : dz > 0 ? VD_AGENT_DBUTTON_MASK : 0;
            send_agent_mouse(ip, buttons_to_agent(buttons) | wheel);
        } else if (client_mode(ip)) {
            if (ip->tablet) {
                const SpiceTabletInterface *sif =
                    (const SpiceTabletInterface *)ip->tablet->base.sif;
                if (press) {
                    sif->wheel(ip->tablet, dz, local);
                } else {
                    sif->buttons(ip->tablet, local);
                }
            }
        } else if (ip->mouse) {
            const SpiceMouseInterface *sif = (const SpiceMouseInterface *)ip->mouse->base.sif;
            if (press) {
                sif->motion(ip->mouse, 0, 0, dz, local);
            } else {
                sif->buttons(ip->mouse, local);
            }
        }
        return 0;
    }
    default:
        return -ENOTSUP;
    }
}

static int inputs_connect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    InputsPlugin *ip = host->channel_get_data(channel);
    InputsClient *ic = calloc(1, sizeof(*ic));
    if (!ic) {
        return -ENOMEM;
    }
    ic->ip = ip;
    host->channel_client_set_data(cc, ic);
    ip->cc = cc;

    if (host->channel_client_get_family(cc) != AF_UNIX) {
        host->client_notify(host->channel_client_get_client(cc), SPICE_NOTIFY_SEVERITY_WARN,
                            SPICE_NOTIFY_VISIBILITY_LOW, 0, "keyboard channel is insecure");
    }
    uint8_t body[2];
    uint8_t leds = 0;
    if (ip->kbd) {
        const SpiceKbdInterface *sif = (const SpiceKbdInterface *)ip->kbd->base.sif;
        leds = sif->get_leds(ip->kbd);
    }
    spice_wire_put_u16(body, leds);
    host->channel_client_send(cc, SPICE_MSG_INPUTS_INIT, body, sizeof(body));
    return 0;
}

static void inputs_disconnect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    InputsPlugin *ip = host->channel_get_data(channel);
    if (ip->cc == cc) {
        ip->cc = NULL;
        release_keys(ip);
    }
    free(host->channel_client_get_data(cc));
    host->channel_client_set_data(cc, NULL);
}

static const SpiceChannelOps inputs_ops = {
    .version = SPICE_CHANNEL_OPS_VERSION,
    .connect = inputs_connect,
    .disconnect = inputs_disconnect,
    .handle_message = inputs_handle_message,
};

static const SpiceChannelCap inputs_caps[] = {
    { SPICE_INPUTS_CAP_KEY_SCANCODE, "KEY_SCANCODE" },
};

static const SpiceChannelClass inputs_class = {
    .size = sizeof(SpiceChannelClass),
    .type = SPICE_CHANNEL_INPUTS,
    .name = "inputs",
    .max_message_size = INPUTS_MAX_MESSAGE,
    .caps = inputs_caps,
    .n_caps = 1,
    .ops = &inputs_ops,
};

/* ---- host interfaces ------------------------------------------------------------------- */

static int kbd_add(SpicePlugin *plugin, SpiceBaseInstance *sin, void **data)
{
    InputsPlugin *ip = host->get_data(plugin);
    if (ip->kbd) {
        host->log(plugin, SPICE_PLUGIN_LOG_WARNING, "a keyboard is already attached");
        return -EBUSY;
    }
    ip->kbd = (SpiceKbdInstance *)sin;
    const SpiceKbdInterface *sif = (const SpiceKbdInterface *)sin->sif;
    ip->modifiers = sif->get_leds ? sif->get_leds(ip->kbd) : 0;
    *data = ip;
    return 0;
}

static void kbd_remove(SpicePlugin *plugin, SpiceBaseInstance *sin, void *data)
{
    InputsPlugin *ip = data;
    (void)plugin;
    if (ip->kbd == (SpiceKbdInstance *)sin) {
        ip->kbd = NULL;
        memset(ip->key, 0, sizeof(ip->key));
        memset(ip->key_ext, 0, sizeof(ip->key_ext));
    }
}

static int kbd_leds(void *data, SpiceKbdInstance *sin, int leds)
{
    InputsPlugin *ip = data;
    (void)sin;
    ip->modifiers = (uint8_t)leds;
    send_modifiers(ip);
    return 0;
}

static int mouse_add(SpicePlugin *plugin, SpiceBaseInstance *sin, void **data)
{
    InputsPlugin *ip = host->get_data(plugin);
    if (ip->mouse) {
        host->log(plugin, SPICE_PLUGIN_LOG_WARNING, "a mouse is already attached");
        return -EBUSY;
    }
    ip->mouse = (SpiceMouseInstance *)sin;
    *data = ip;
    return 0;
}

static void mouse_remove(SpicePlugin *plugin, SpiceBaseInstance *sin, void *data)
{
    InputsPlugin *ip = data;
    (void)plugin;
    if (ip->mouse == (SpiceMouseInstance *)sin) {
        ip->mouse = NULL;
    }
}

static int tablet_add(SpicePlugin *plugin, SpiceBaseInstance *sin, void **data)
{
    InputsPlugin *ip = host->get_data(plugin);
    if (ip->tablet) {
        host->log(plugin, SPICE_PLUGIN_LOG_WARNING, "a tablet is already attached");
        return -EBUSY;
    }
    ip->tablet = (SpiceTabletInstance *)sin;
    *data = ip;
    update_tablet_size(ip);
    return 0;
}

static void tablet_remove(SpicePlugin *plugin, SpiceBaseInstance *sin, void *data)
{
    InputsPlugin *ip = data;
    (void)plugin;
    if (ip->tablet == (SpiceTabletInstance *)sin) {
        ip->tablet = NULL;
    }
}

static const SpiceKbdEntries kbd_entries = {
    .size = sizeof(SpiceKbdEntries),
    .kbd_leds = kbd_leds,
};

static const SpiceInterfaceClass kbd_iface = {
    .size = sizeof(SpiceInterfaceClass),
    .type = SPICE_INTERFACE_KEYBOARD,
    .major = SPICE_INTERFACE_KEYBOARD_MAJOR,
    .minor = SPICE_INTERFACE_KEYBOARD_MINOR,
    .add = kbd_add,
    .remove = kbd_remove,
    .entries = &kbd_entries,
};

static const SpiceInterfaceClass mouse_iface = {
    .size = sizeof(SpiceInterfaceClass),
    .type = SPICE_INTERFACE_MOUSE,
    .major = SPICE_INTERFACE_MOUSE_MAJOR,
    .minor = SPICE_INTERFACE_MOUSE_MINOR,
    .add = mouse_add,
    .remove = mouse_remove,
};

static const SpiceInterfaceClass tablet_iface = {
    .size = sizeof(SpiceInterfaceClass),
    .type = SPICE_INTERFACE_TABLET,
    .major = SPICE_INTERFACE_TABLET_MAJOR,
    .minor = SPICE_INTERFACE_TABLET_MINOR,
    .add = tablet_add,
    .remove = tablet_remove,
};

/* The tablet reports absolute positions in the primary surface's pixels
 * when client mouse mode is possible. */
static void update_tablet_size(InputsPlugin *ip)
{
    if (!ip->tablet || ip->primary.width == 0 || !ip->primary.client_mouse) {
        return;
    }
    const SpiceTabletInterface *sif = (const SpiceTabletInterface *)ip->tablet->base.sif;
    sif->set_logical_size(ip->tablet, (int)ip->primary.width, (int)ip->primary.height);
}

/* A primary surface came or went: the tablet's logical size follows it. */
static void on_primary(SpicePlugin *plugin, const char *topic, uint32_t key, const void *payload,
                       uint32_t size, void *opaque)
{
    (void)plugin, (void)topic, (void)key, (void)size;
    InputsPlugin *ip = opaque;
    const SpicePrimaryInfo *info = payload;
    if (!info || !SPICE_PAYLOAD_HAS(info, SpicePrimaryInfo, client_mouse)) {
        memset(&ip->primary, 0, sizeof(ip->primary));
        return;
    }
    memcpy(&ip->primary, info, sizeof(ip->primary));
    update_tablet_size(ip);
}

/* ---- plugin ---------------------------------------------------------------------------------- */

static void on_agent(SpicePlugin *plugin, const char *topic, uint32_t key, const void *payload,
                     uint32_t size, void *opaque)
{
    (void)plugin, (void)topic, (void)key, (void)size;
    InputsPlugin *ip = opaque;
    const SpiceAgentInfo *info = payload;
    ip->agent = info && SPICE_PAYLOAD_HAS(info, SpiceAgentInfo, connected) && info->connected;
}

static int inputs_init(SpicePlugin *plugin, const SpiceHostServices *services)
{
    host = services;
    if (!SPICE_HOST_HAS(host, topic_subscribe)) {
        host->set_error(plugin, "needs plugin ABI 1.3 (topics)");
        return -ENOTSUP;
    }
    InputsPlugin *ip = calloc(1, sizeof(*ip));
    if (!ip) {
        host->set_error(plugin, "out of memory");
        return -ENOMEM;
    }
    ip->plugin = plugin;
    ip->modifiers_timer = host->timer_new(plugin, NULL, modifiers_timer_cb, ip);
    if (!ip->modifiers_timer) {
        host->set_error(plugin, "the event loop refused a timer");
        free(ip);
        return -ENOMEM;
    }
    ip->channel = host->channel_register(plugin, &inputs_class, 0, ip);
    if (!ip->channel) {
        host->set_error(plugin, "cannot register the inputs channel");
        host->timer_free(ip->modifiers_timer);
        free(ip);
        return -EEXIST;
    }
    ip->primary_sub = host->topic_subscribe(plugin, SPICE_TOPIC_PRIMARY, NULL, on_primary, ip);
    ip->agent_sub = host->topic_subscribe(plugin, SPICE_TOPIC_AGENT, NULL, on_agent, ip);
    host->set_data(plugin, ip);
    return 0;
}

static void inputs_deinit(SpicePlugin *plugin)
{
    InputsPlugin *ip = host->get_data(plugin);
    host->topic_unsubscribe(ip->primary_sub);
    host->topic_unsubscribe(ip->agent_sub);
    host->timer_free(ip->modifiers_timer);
    free(ip);
    host->set_data(plugin, NULL);
}

static const SpiceChannelClass *const inputs_channels[] = { &inputs_class, NULL };
static const SpiceInterfaceClass *const inputs_interfaces[] = { &kbd_iface, &mouse_iface,
                                                                &tablet_iface, NULL };

SPICE_PLUGIN_DEFINE(inputs, .version = "0.1.0", .license = "LGPL-2.1-or-later",
                    .description = "Inputs channel: keyboard, mouse and tablet",
                    .origin = "spicecore", .channels = inputs_channels,
                    .interfaces = inputs_interfaces, .init = inputs_init, .deinit = inputs_deinit)
