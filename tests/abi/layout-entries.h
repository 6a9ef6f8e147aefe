/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * layout-entries.h: the one list of everything the ABI layout test checks.
 * Deliberately without an include guard: layout-emit.h includes it several
 * times, once per table, with these macros defined to emit table rows:
 *
 *   LAYOUT_TYPE(type)           sizeof and _Alignof of a public type
 *   LAYOUT_MEMBER(type, member) offset and size of one member, in
 *                               declaration order; every member is listed
 *   LAYOUT_CONST(name)          value and C type of a constant
 *   LAYOUT_STRING(name)         a string constant (interface type names)
 *
 * Both sides build their tables from this file, so they cannot list
 * different things. Add new public structs and constants here.
 */

/* spice-version.h */
LAYOUT_CONST(SPICE_SERVER_VERSION)

/* spice-core.h: the base of every interface */
LAYOUT_TYPE(SpiceBaseInterface)
LAYOUT_MEMBER(SpiceBaseInterface, type)
LAYOUT_MEMBER(SpiceBaseInterface, description)
LAYOUT_MEMBER(SpiceBaseInterface, major_version)
LAYOUT_MEMBER(SpiceBaseInterface, minor_version)

LAYOUT_TYPE(SpiceBaseInstance)
LAYOUT_MEMBER(SpiceBaseInstance, sif)

/* spice-core.h: the core interface */
LAYOUT_STRING(SPICE_INTERFACE_CORE)
LAYOUT_CONST(SPICE_INTERFACE_CORE_MAJOR)
LAYOUT_CONST(SPICE_INTERFACE_CORE_MINOR)
LAYOUT_CONST(SPICE_WATCH_EVENT_READ)
LAYOUT_CONST(SPICE_WATCH_EVENT_WRITE)
LAYOUT_CONST(SPICE_CHANNEL_EVENT_CONNECTED)
LAYOUT_CONST(SPICE_CHANNEL_EVENT_INITIALIZED)
LAYOUT_CONST(SPICE_CHANNEL_EVENT_DISCONNECTED)
LAYOUT_CONST(SPICE_CHANNEL_EVENT_FLAG_TLS)
LAYOUT_CONST(SPICE_CHANNEL_EVENT_FLAG_ADDR_EXT)

LAYOUT_TYPE(SpiceChannelEventInfo)
LAYOUT_MEMBER(SpiceChannelEventInfo, connection_id)
LAYOUT_MEMBER(SpiceChannelEventInfo, type)
LAYOUT_MEMBER(SpiceChannelEventInfo, id)
LAYOUT_MEMBER(SpiceChannelEventInfo, flags)
LAYOUT_MEMBER(SpiceChannelEventInfo, laddr)
LAYOUT_MEMBER(SpiceChannelEventInfo, paddr)
LAYOUT_MEMBER(SpiceChannelEventInfo, llen)
LAYOUT_MEMBER(SpiceChannelEventInfo, plen)
LAYOUT_MEMBER(SpiceChannelEventInfo, laddr_ext)
LAYOUT_MEMBER(SpiceChannelEventInfo, paddr_ext)
LAYOUT_MEMBER(SpiceChannelEventInfo, llen_ext)
LAYOUT_MEMBER(SpiceChannelEventInfo, plen_ext)

LAYOUT_TYPE(SpiceCoreInterface)
LAYOUT_MEMBER(SpiceCoreInterface, base)
LAYOUT_MEMBER(SpiceCoreInterface, timer_add)
LAYOUT_MEMBER(SpiceCoreInterface, timer_start)
LAYOUT_MEMBER(SpiceCoreInterface, timer_cancel)
LAYOUT_MEMBER(SpiceCoreInterface, timer_remove)
LAYOUT_MEMBER(SpiceCoreInterface, watch_add)
LAYOUT_MEMBER(SpiceCoreInterface, watch_update_mask)
LAYOUT_MEMBER(SpiceCoreInterface, watch_remove)
LAYOUT_MEMBER(SpiceCoreInterface, channel_event)

/* spice-server.h */
LAYOUT_TYPE(spice_compat_version_t)
LAYOUT_CONST(SPICE_COMPAT_VERSION_0_4)
LAYOUT_CONST(SPICE_COMPAT_VERSION_0_6)
LAYOUT_CONST(SPICE_COMPAT_VERSION_CURRENT)
LAYOUT_CONST(SPICE_ADDR_FLAG_IPV4_ONLY)
LAYOUT_CONST(SPICE_ADDR_FLAG_IPV6_ONLY)
LAYOUT_CONST(SPICE_ADDR_FLAG_UNIX_ONLY)
LAYOUT_TYPE(spice_image_compression_t)
LAYOUT_CONST(SPICE_IMAGE_COMPRESS_INVALID)
LAYOUT_CONST(SPICE_IMAGE_COMPRESS_OFF)
LAYOUT_CONST(SPICE_IMAGE_COMPRESS_AUTO_GLZ)
LAYOUT_CONST(SPICE_IMAGE_COMPRESS_AUTO_LZ)
LAYOUT_CONST(SPICE_IMAGE_COMPRESS_QUIC)
LAYOUT_CONST(SPICE_IMAGE_COMPRESS_GLZ)
LAYOUT_CONST(SPICE_IMAGE_COMPRESS_LZ)
LAYOUT_CONST(SPICE_IMAGE_COMPRESS_LZ4)
LAYOUT_TYPE(spice_wan_compression_t)
LAYOUT_CONST(SPICE_WAN_COMPRESSION_INVALID)
LAYOUT_CONST(SPICE_WAN_COMPRESSION_AUTO)
LAYOUT_CONST(SPICE_WAN_COMPRESSION_ALWAYS)
LAYOUT_CONST(SPICE_WAN_COMPRESSION_NEVER)
LAYOUT_CONST(SPICE_CHANNEL_SECURITY_NONE)
LAYOUT_CONST(SPICE_CHANNEL_SECURITY_SSL)
LAYOUT_CONST(SPICE_STREAM_VIDEO_INVALID)
LAYOUT_CONST(SPICE_STREAM_VIDEO_OFF)
LAYOUT_CONST(SPICE_STREAM_VIDEO_ALL)
LAYOUT_CONST(SPICE_STREAM_VIDEO_FILTER)
LAYOUT_CONST(SPICE_STREAMING_INVALID)
LAYOUT_CONST(SPICE_STREAMING_SPICE)
LAYOUT_CONST(SPICE_STREAMING_GSTREAMER)

/* spice-qxl.h */
LAYOUT_STRING(SPICE_INTERFACE_QXL)
LAYOUT_CONST(SPICE_INTERFACE_QXL_MAJOR)
LAYOUT_CONST(SPICE_INTERFACE_QXL_MINOR)
LAYOUT_CONST(SPICE_CAPABILITIES_SIZE)

LAYOUT_TYPE(QXLDevInitInfo)
LAYOUT_MEMBER(QXLDevInitInfo, num_memslots_groups)
LAYOUT_MEMBER(QXLDevInitInfo, num_memslots)
LAYOUT_MEMBER(QXLDevInitInfo, memslot_gen_bits)
LAYOUT_MEMBER(QXLDevInitInfo, memslot_id_bits)
LAYOUT_MEMBER(QXLDevInitInfo, qxl_ram_size)
LAYOUT_MEMBER(QXLDevInitInfo, internal_groupslot_id)
LAYOUT_MEMBER(QXLDevInitInfo, n_surfaces)

LAYOUT_TYPE(QXLDevMemSlot)
LAYOUT_MEMBER(QXLDevMemSlot, slot_group_id)
LAYOUT_MEMBER(QXLDevMemSlot, slot_id)
LAYOUT_MEMBER(QXLDevMemSlot, generation)
LAYOUT_MEMBER(QXLDevMemSlot, virt_start)
LAYOUT_MEMBER(QXLDevMemSlot, virt_end)
LAYOUT_MEMBER(QXLDevMemSlot, addr_delta)
LAYOUT_MEMBER(QXLDevMemSlot, qxl_ram_size)

LAYOUT_TYPE(QXLDevSurfaceCreate)
LAYOUT_MEMBER(QXLDevSurfaceCreate, width)
LAYOUT_MEMBER(QXLDevSurfaceCreate, height)
LAYOUT_MEMBER(QXLDevSurfaceCreate, stride)
LAYOUT_MEMBER(QXLDevSurfaceCreate, format)
LAYOUT_MEMBER(QXLDevSurfaceCreate, position)
LAYOUT_MEMBER(QXLDevSurfaceCreate, mouse_mode)
LAYOUT_MEMBER(QXLDevSurfaceCreate, flags)
LAYOUT_MEMBER(QXLDevSurfaceCreate, type)
LAYOUT_MEMBER(QXLDevSurfaceCreate, mem)
LAYOUT_MEMBER(QXLDevSurfaceCreate, group_id)

LAYOUT_TYPE(QXLInterface)
LAYOUT_MEMBER(QXLInterface, base)
LAYOUT_MEMBER(QXLInterface, attached_worker)
LAYOUT_MEMBER(QXLInterface, attache_worker)
LAYOUT_MEMBER(QXLInterface, set_compression_level)
LAYOUT_MEMBER(QXLInterface, set_mm_time)
LAYOUT_MEMBER(QXLInterface, get_init_info)
LAYOUT_MEMBER(QXLInterface, get_command)
LAYOUT_MEMBER(QXLInterface, req_cmd_notification)
LAYOUT_MEMBER(QXLInterface, release_resource)
LAYOUT_MEMBER(QXLInterface, get_cursor_command)
LAYOUT_MEMBER(QXLInterface, req_cursor_notification)
LAYOUT_MEMBER(QXLInterface, notify_update)
LAYOUT_MEMBER(QXLInterface, flush_resources)
LAYOUT_MEMBER(QXLInterface, async_complete)
LAYOUT_MEMBER(QXLInterface, update_area_complete)
LAYOUT_MEMBER(QXLInterface, set_client_capabilities)
LAYOUT_MEMBER(QXLInterface, client_monitors_config)

LAYOUT_TYPE(QXLInstance)
LAYOUT_MEMBER(QXLInstance, base)
LAYOUT_MEMBER(QXLInstance, id)
LAYOUT_MEMBER(QXLInstance, st)

/* spice-input.h */
LAYOUT_STRING(SPICE_INTERFACE_KEYBOARD)
LAYOUT_CONST(SPICE_INTERFACE_KEYBOARD_MAJOR)
LAYOUT_CONST(SPICE_INTERFACE_KEYBOARD_MINOR)

LAYOUT_TYPE(SpiceKbdInterface)
LAYOUT_MEMBER(SpiceKbdInterface, base)
LAYOUT_MEMBER(SpiceKbdInterface, push_scan_freg)
LAYOUT_MEMBER(SpiceKbdInterface, get_leds)

LAYOUT_TYPE(SpiceKbdInstance)
LAYOUT_MEMBER(SpiceKbdInstance, base)
LAYOUT_MEMBER(SpiceKbdInstance, st)

LAYOUT_STRING(SPICE_INTERFACE_MOUSE)
LAYOUT_CONST(SPICE_INTERFACE_MOUSE_MAJOR)
LAYOUT_CONST(SPICE_INTERFACE_MOUSE_MINOR)

LAYOUT_TYPE(SpiceMouseInterface)
LAYOUT_MEMBER(SpiceMouseInterface, base)
LAYOUT_MEMBER(SpiceMouseInterface, motion)
LAYOUT_MEMBER(SpiceMouseInterface, buttons)

LAYOUT_TYPE(SpiceMouseInstance)
LAYOUT_MEMBER(SpiceMouseInstance, base)
LAYOUT_MEMBER(SpiceMouseInstance, st)

LAYOUT_STRING(SPICE_INTERFACE_TABLET)
LAYOUT_CONST(SPICE_INTERFACE_TABLET_MAJOR)
LAYOUT_CONST(SPICE_INTERFACE_TABLET_MINOR)

LAYOUT_TYPE(SpiceTabletInterface)
LAYOUT_MEMBER(SpiceTabletInterface, base)
LAYOUT_MEMBER(SpiceTabletInterface, set_logical_size)
LAYOUT_MEMBER(SpiceTabletInterface, position)
LAYOUT_MEMBER(SpiceTabletInterface, wheel)
LAYOUT_MEMBER(SpiceTabletInterface, buttons)

LAYOUT_TYPE(SpiceTabletInstance)
LAYOUT_MEMBER(SpiceTabletInstance, base)
LAYOUT_MEMBER(SpiceTabletInstance, st)

/* spice-audio.h */
LAYOUT_CONST(SPICE_INTERFACE_AUDIO_FMT_S16)

LAYOUT_STRING(SPICE_INTERFACE_PLAYBACK)
LAYOUT_CONST(SPICE_INTERFACE_PLAYBACK_MAJOR)
LAYOUT_CONST(SPICE_INTERFACE_PLAYBACK_MINOR)
LAYOUT_CONST(SPICE_INTERFACE_PLAYBACK_FREQ)
LAYOUT_CONST(SPICE_INTERFACE_PLAYBACK_CHAN)
LAYOUT_CONST(SPICE_INTERFACE_PLAYBACK_FMT)

LAYOUT_TYPE(SpicePlaybackInterface)
LAYOUT_MEMBER(SpicePlaybackInterface, base)

LAYOUT_TYPE(SpicePlaybackInstance)
LAYOUT_MEMBER(SpicePlaybackInstance, base)
LAYOUT_MEMBER(SpicePlaybackInstance, st)

LAYOUT_STRING(SPICE_INTERFACE_RECORD)
LAYOUT_CONST(SPICE_INTERFACE_RECORD_MAJOR)
LAYOUT_CONST(SPICE_INTERFACE_RECORD_MINOR)
LAYOUT_CONST(SPICE_INTERFACE_RECORD_FREQ)
LAYOUT_CONST(SPICE_INTERFACE_RECORD_CHAN)
LAYOUT_CONST(SPICE_INTERFACE_RECORD_FMT)

LAYOUT_TYPE(SpiceRecordInterface)
LAYOUT_MEMBER(SpiceRecordInterface, base)

LAYOUT_TYPE(SpiceRecordInstance)
LAYOUT_MEMBER(SpiceRecordInstance, base)
LAYOUT_MEMBER(SpiceRecordInstance, st)

/* spice-char.h */
LAYOUT_STRING(SPICE_INTERFACE_CHAR_DEVICE)
LAYOUT_CONST(SPICE_INTERFACE_CHAR_DEVICE_MAJOR)
LAYOUT_CONST(SPICE_INTERFACE_CHAR_DEVICE_MINOR)
LAYOUT_TYPE(spice_char_device_flags)
LAYOUT_CONST(SPICE_CHAR_DEVICE_NOTIFY_WRITABLE)

LAYOUT_TYPE(SpiceCharDeviceInterface)
LAYOUT_MEMBER(SpiceCharDeviceInterface, base)
LAYOUT_MEMBER(SpiceCharDeviceInterface, state)
LAYOUT_MEMBER(SpiceCharDeviceInterface, write)
LAYOUT_MEMBER(SpiceCharDeviceInterface, read)
LAYOUT_MEMBER(SpiceCharDeviceInterface, event)
LAYOUT_MEMBER(SpiceCharDeviceInterface, flags)

LAYOUT_TYPE(SpiceCharDeviceInstance)
LAYOUT_MEMBER(SpiceCharDeviceInstance, base)
LAYOUT_MEMBER(SpiceCharDeviceInstance, subtype)
LAYOUT_MEMBER(SpiceCharDeviceInstance, st)
LAYOUT_MEMBER(SpiceCharDeviceInstance, portname)

/* spice-migration.h */
LAYOUT_STRING(SPICE_INTERFACE_MIGRATION)
LAYOUT_CONST(SPICE_INTERFACE_MIGRATION_MAJOR)
LAYOUT_CONST(SPICE_INTERFACE_MIGRATION_MINOR)

LAYOUT_TYPE(SpiceMigrateInterface)
LAYOUT_MEMBER(SpiceMigrateInterface, base)
LAYOUT_MEMBER(SpiceMigrateInterface, migrate_connect_complete)
LAYOUT_MEMBER(SpiceMigrateInterface, migrate_end_complete)

LAYOUT_TYPE(SpiceMigrateInstance)
LAYOUT_MEMBER(SpiceMigrateInstance, base)
LAYOUT_MEMBER(SpiceMigrateInstance, st)
