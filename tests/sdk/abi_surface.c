/* Every type of the plugin ABI, reachable from an exported function, so that abidw and
 * abidiff (Debian's abigail-tools) see the whole surface of plugin.h in this library's debug
 * information. The functions do nothing: only their types matter. */
#include <hostd/plugin.h>

#define SURFACE __attribute__((visibility("default")))

SURFACE void hostd_abi_surface_descriptor(const hostd_type_descriptor* d) { (void)d; }
SURFACE void hostd_abi_surface_context(const hostd_type_context* c) { (void)c; }
SURFACE void hostd_abi_surface_services(const hostd_type_services* s) { (void)s; }
SURFACE void hostd_abi_surface_config(const hostd_type_config* c) { (void)c; }
SURFACE void hostd_abi_surface_message(const hostd_type_message* m) { (void)m; }
SURFACE hostd_type_result hostd_abi_surface_enums(hostd_type_result r, hostd_type_log_level l) {
  (void)l;
  return r;
}
SURFACE hostd_type_entry_fn hostd_abi_surface_entry(void) { return 0; }
SURFACE hostd_on_start hostd_abi_surface_on_start(void) { return 0; }
SURFACE hostd_on_reload hostd_abi_surface_on_reload(void) { return 0; }
SURFACE hostd_on_stop hostd_abi_surface_on_stop(void) { return 0; }
