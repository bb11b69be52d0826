/*
 * hostd plugin ABI, version 1.2: the whole contract between hostd and a plugin.
 *
 * A plugin is a shared object NAME.so that exports exactly one symbol,
 * hostd_plugin_entry, returning a descriptor. hostd reads the descriptor's ABI
 * version before anything else and refuses a plugin whose major differs from its
 * own or whose minor is newer than its own.
 *
 * Naming: hostd_type_* are types; hostd_on_* are functions the plugin implements
 * and the host calls; hostd_cb_* are functions the host implements and the plugin
 * calls (through the services table).
 *
 * Strings crossing the boundary are {ptr, len} pairs (hostd_type_str) unless a
 * field says "NUL-terminated". Each pointer says who owns it and for how long
 * (OWNERSHIP).
 *
 * COMPATIBILITY PROMISE
 * - Minor bump (1.0 -> 1.1): only additions. New entries are appended to the end
 *   of hostd_type_services (its `size` field grows), new result codes and log
 *   levels may be added, reserved fields may gain a meaning whose zero value keeps
 *   the old behaviour. Nothing is removed, reordered or retyped.
 *   A host of minor M loads plugins built against any minor <= M. A plugin that
 *   uses a service added in minor K must check HOSTD_HAS_SERVICE(services, name)
 *   if it may run on hosts older than K; hostd refuses a plugin whose minor is
 *   newer than the host's, so a plugin built for 1.K only runs on hosts >= 1.K.
 * - Major bump: anything else (a changed struct layout, a changed callback
 *   signature, a removed service). The host refuses a plugin of another major,
 *   naming both versions in its log.
 * - The first three fields of hostd_type_descriptor (abi_major, abi_minor, size)
 *   never move, in any major, so any host can read any plugin's version.
 * - Enforced by tests: sdk/abi/ keeps the layout of every released minor (sizes,
 *   offsets, services order, enum values) and a copy of the 1.0 header; a plugin
 *   built against that copy must run in every later host of major 1.
 *
 * LIFECYCLE AND THREADING
 * - hostd_plugin_entry is called once per load, on a host thread, and must not
 *   do work beyond returning the (static) descriptor.
 * - start, reload and stop are called one at a time per plugin (never
 *   concurrently for the same plugin), from host threads that may differ from
 *   call to call. Different plugins' callbacks run concurrently.
 * - start is called after every plugin named in `requires` is running. stop is
 *   called before any of them is stopped. After a successful stop the plugin may
 *   be unloaded (dlclose), or started again (an upgrade rolled back).
 * - reload: if it returns anything but HOSTD_OK, the plugin keeps running with
 *   its previous configuration; the host logs the message and does not stop it.
 * - stop receives its deadline; a plugin that overruns it is abandoned (never
 *   unloaded) and the host moves on. Before stop returns, the plugin must have
 *   joined every thread it started, and must leave no pthread keys with
 *   destructors, no thread_local objects with destructors in other threads, no
 *   atexit handlers: the image is unmapped right after.
 * - Never call exit(), never change the signal mask of host threads, never install
 *   signal handlers, never touch file descriptors you did not open, never change
 *   the descriptor once returned, never let a C++ exception cross this boundary
 *   (hostd/plugin.hpp does this for you). What hostd does when one is broken anyway
 *   (exit() counts like a crash, its handlers are taken back, a thread left running
 *   keeps the image mapped and the plugin stale, services called after the last stop
 *   are refused, closing a host descriptor ends hostd with code 7, ...) is in
 *   docs/writing-plugins.md, "When a rule is broken anyway".
 *
 * SEE ALSO
 * - docs/writing-plugins.md (installed as share/doc/hostd-sdk/): the guide, with
 *   building (CMake: find_package(hostd) and hostd_add_plugin; or pkg-config
 *   hostd-sdk), testing and packaging.
 * - hostd-plugin-check FILE.so: checks a built plugin against these rules
 *   (exported symbols, unloadability, start/reload/stop, threads and descriptors
 *   left behind) before it ships.
 */
#ifndef HOSTD_PLUGIN_H
#define HOSTD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HOSTD_ABI_MAJOR 1
#define HOSTD_ABI_MINOR 2

/** Name of the one symbol a plugin exports. */
#define HOSTD_ENTRY_SYMBOL "hostd_plugin_entry"

/** Result of a plugin callback or a host service. Values never change meaning. */
typedef enum hostd_type_result {
  HOSTD_OK = 0,              /**< Success. */
  HOSTD_ERR_FAILED = 1,      /**< Generic failure; see the message. */
  HOSTD_ERR_CONFIG = 2,      /**< The plugin's configuration is invalid. */
  HOSTD_ERR_EXCEPTION = 3,   /**< A C++ exception was caught by the wrapper. */
  HOSTD_ERR_UNAVAILABLE = 4, /**< A resource the plugin needs is not available. */
  HOSTD_ERR_NOT_FOUND = 5    /**< Service result: the key or item does not exist. */
} hostd_type_result;

/** Log levels; numerically the syslog priorities. */
typedef enum hostd_type_log_level {
  HOSTD_LOG_ERROR = 3,
  HOSTD_LOG_WARNING = 4,
  HOSTD_LOG_NOTICE = 5,
  HOSTD_LOG_INFO = 6,
  HOSTD_LOG_DEBUG = 7
} hostd_type_log_level;

/** A string slice; not NUL-terminated unless stated. */
typedef struct hostd_type_str {
  const char* ptr;
  size_t len;
} hostd_type_str;

/** One key/value pair of a plugin's configuration section. */
typedef struct hostd_type_config_entry {
  hostd_type_str key;
  hostd_type_str value;
} hostd_type_config_entry;

/**
 * A plugin's configuration: the plugin-specific keys of its [plugin.NAME]
 * section (host keys such as `enabled` and `requires` are not included), in
 * file order. Keys are unique.
 * OWNERSHIP: host-owned; valid only until the callback it was passed to returns.
 * Copy what you keep.
 */
typedef struct hostd_type_config {
  const hostd_type_config_entry* entries;
  size_t count;
} hostd_type_config;

/**
 * A buffer the plugin may fill with a NUL-terminated, human-readable reason
 * when a callback does not return HOSTD_OK (or a note when it does). The host
 * logs it attributed to the plugin.
 * OWNERSHIP: host-owned, `cap` bytes (>= 256), `buf[0] == '\0'` on entry;
 * valid only during the callback.
 */
typedef struct hostd_type_message {
  char* buf;
  size_t cap;
} hostd_type_message;

typedef struct hostd_type_context hostd_type_context;

/**
 * Host services: an append-only table. `size` is sizeof the table as the host
 * built it; an entry exists iff it lies entirely within `size` (use
 * HOSTD_HAS_SERVICE). Each entry names the ABI minor that added it.
 * OWNERSHIP: host-owned; valid from start until the last stop returns.
 * Every function is thread-safe and may be called from any thread the plugin
 * owns, as long as the plugin is loaded.
 */
typedef struct hostd_type_services {
  uint32_t size;     /**< sizeof(hostd_type_services) as the host knows it. */
  uint32_t reserved; /**< Zero. */

  /** 1.0: Logs `len` bytes of `msg` at `level`, attributed to the plugin. */
  void (*hostd_cb_log)(const hostd_type_context* ctx, hostd_type_log_level level, const char* msg,
                       size_t len);

  /** 1.0: Non-zero once the host has begun draining (stop is near or running). */
  int (*hostd_cb_is_stopping)(const hostd_type_context* ctx);

  /**
   * 1.0: Finds `key` (`key_len` bytes) in `config`. On success stores the value
   * in `*out` (same lifetime as `config`) and returns HOSTD_OK; otherwise
   * HOSTD_ERR_NOT_FOUND.
   */
  hostd_type_result (*hostd_cb_config_get)(const hostd_type_config* config, const char* key,
                                           size_t key_len, hostd_type_str* out);

  /**
   * 1.1: Reports that the running plugin has failed for good (its connection is lost and will
   * not come back, a worker thread died, ...). The host logs `msg` (`len` bytes), stops the
   * plugin (its dependents first) and starts it again under its restart policy: exponential
   * backoff, quarantine after repeated failures. Returns at once; callable from any thread the
   * plugin owns, never from within stop. Check HOSTD_HAS_SERVICE first to run on 1.0 hosts.
   */
  void (*hostd_cb_report_failure)(const hostd_type_context* ctx, const char* msg, size_t len);

  /**
   * 1.2: Names the calling thread `name` (`name_len` bytes; the OS keeps the first 15, printable
   * ASCII) and records it as the plugin's own, so that hostd's /debug/threads, /debug/plugins
   * and `hostctl top` attribute its CPU time to the plugin instead of "unattributed". Call it
   * first thing in every thread the plugin starts; the tag ends with the thread. Callable from
   * any thread the plugin owns. Check HOSTD_HAS_SERVICE first to run on 1.0 and 1.1 hosts
   * (hostd/plugin.hpp's hostd::Thread does).
   */
  void (*hostd_cb_thread_tag)(const hostd_type_context* ctx, const char* name, size_t name_len);
} hostd_type_services;

/** True if `services` provides `member` (an entry of hostd_type_services). */
#define HOSTD_HAS_SERVICE(services, member)                                   \
  ((services) != NULL &&                                                      \
   (services)->size >= offsetof(hostd_type_services, member) +                \
                           sizeof(((hostd_type_services*)0)->member) &&       \
   (services)->member != NULL)

/**
 * What the host tells a plugin about itself.
 * OWNERSHIP: host-owned; the same pointer is passed to every callback of one
 * load and stays valid until the last stop returns, so a plugin may keep it
 * (e.g. for logging from its own threads).
 */
struct hostd_type_context {
  uint32_t size;                        /**< sizeof(hostd_type_context) as the host knows it. */
  uint32_t reserved;                    /**< Zero. */
  hostd_type_str instance_name;         /**< The file stem: plugin NAME of NAME.so; NUL-terminated too. */
  const hostd_type_services* services;  /**< The host services table. */
  void* host_data;                      /**< Opaque to the plugin. */
};

/** Called to start the plugin with its configuration. */
typedef hostd_type_result (*hostd_on_start)(void* instance, const hostd_type_context* ctx,
                                            const hostd_type_config* config, hostd_type_message* message);

/** Called with a changed configuration while the plugin runs. Failure keeps the old one. */
typedef hostd_type_result (*hostd_on_reload)(void* instance, const hostd_type_context* ctx,
                                             const hostd_type_config* config, hostd_type_message* message);

/**
 * Called to stop the plugin. `deadline_ns` is an absolute CLOCK_MONOTONIC time
 * in nanoseconds: the plugin should have returned by then.
 */
typedef hostd_type_result (*hostd_on_stop)(void* instance, const hostd_type_context* ctx,
                                           int64_t deadline_ns, hostd_type_message* message);

/**
 * The plugin's descriptor.
 * OWNERSHIP: plugin-owned (usually static); must stay valid and unchanged while
 * the plugin is loaded.
 */
typedef struct hostd_type_descriptor {
  uint32_t abi_major;          /**< HOSTD_ABI_MAJOR the plugin was built with. Never moves. */
  uint32_t abi_minor;          /**< HOSTD_ABI_MINOR the plugin was built with. Never moves. */
  uint32_t size;               /**< sizeof(hostd_type_descriptor) as the plugin built it. Never moves. */
  uint32_t reserved;           /**< Zero. */
  const char* version;         /**< NUL-terminated plugin version, e.g. "1.2.0". */
  const char* description;     /**< NUL-terminated one-line description. */
  const char* const* requires_plugins; /**< NULL-terminated array of plugin names to start after (the `requires`); may be NULL. */
  void* instance;              /**< Opaque; passed back to every callback. */
  hostd_on_start start;        /**< Required. */
  hostd_on_stop stop;          /**< Required. */
  hostd_on_reload reload;      /**< Optional: NULL means a config change is accepted silently. */
} hostd_type_descriptor;

/** The entry symbol's type. Returns the descriptor, or NULL if the plugin cannot load. */
typedef const hostd_type_descriptor* (*hostd_type_entry_fn)(void);

/** Marks the entry symbol exported even under -fvisibility=hidden. */
#define HOSTD_EXPORT __attribute__((visibility("default")))

/*
 * A C plugin defines:
 *   HOSTD_EXPORT const hostd_type_descriptor* hostd_plugin_entry(void) { return &my_descriptor; }
 */

#ifdef __cplusplus
}
#endif

#endif /* HOSTD_PLUGIN_H */
