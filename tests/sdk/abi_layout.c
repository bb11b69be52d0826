/* The plugin ABI's layout, as numbers: the size and member offsets of every struct, every
 * services-table entry, every enum and version value. Compiled against a plugin.h, it prints
 * them (--print, to write a baseline in sdk/abi/) or compares them with a baseline:
 *
 *   abi_layout --print               the layout of the header it was compiled against
 *   abi_layout --write FILE          the same into FILE, which must not exist yet: a released
 *                                    baseline is never rewritten
 *   abi_layout BASELINE              compatible with BASELINE (the rules of plugin.h's
 *                                    COMPATIBILITY PROMISE: see is_compatible below)
 *   abi_layout --exact BASELINE      identical to BASELINE (for the frozen header copies)
 *
 * Plain C on purpose: the ABI is a C ABI, and this is what a C plugin's compiler sees. The
 * callback signatures cannot be numbers; they are static assertions below, so a changed
 * signature does not compile. */
#include <hostd/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAME_TYPE(T, member, type) \
  _Static_assert(__builtin_types_compatible_p(__typeof__(((T*)0)->member), type), \
                 #T "." #member " changed its type: that is an ABI major change")

/* The 1.0 signatures. A later minor may add entries, never change these. */
SAME_TYPE(hostd_type_services, hostd_cb_log,
          void (*)(const hostd_type_context*, hostd_type_log_level, const char*, size_t));
SAME_TYPE(hostd_type_services, hostd_cb_is_stopping, int (*)(const hostd_type_context*));
SAME_TYPE(hostd_type_services, hostd_cb_config_get,
          hostd_type_result (*)(const hostd_type_config*, const char*, size_t, hostd_type_str*));
#if HOSTD_ABI_MINOR >= 1
SAME_TYPE(hostd_type_services, hostd_cb_report_failure, void (*)(const hostd_type_context*, const char*, size_t));
#endif
#if HOSTD_ABI_MINOR >= 2
SAME_TYPE(hostd_type_services, hostd_cb_thread_tag, void (*)(const hostd_type_context*, const char*, size_t));
#endif
SAME_TYPE(hostd_type_descriptor, start,
          hostd_type_result (*)(void*, const hostd_type_context*, const hostd_type_config*, hostd_type_message*));
SAME_TYPE(hostd_type_descriptor, reload,
          hostd_type_result (*)(void*, const hostd_type_context*, const hostd_type_config*, hostd_type_message*));
SAME_TYPE(hostd_type_descriptor, stop,
          hostd_type_result (*)(void*, const hostd_type_context*, int64_t, hostd_type_message*));
SAME_TYPE(hostd_type_descriptor, requires_plugins, const char* const*);
_Static_assert(__builtin_types_compatible_p(hostd_type_entry_fn, const hostd_type_descriptor* (*)(void)),
               "hostd_type_entry_fn changed: that is an ABI major change");

struct item {
  const char* name;
  long long value;
};

#define SIZE(T) {"size " #T, (long long)sizeof(T)}
#define OFFSET(T, m) {"offset " #T "." #m, (long long)offsetof(T, m)}
#define VALUE(v) {"value " #v, (long long)(v)}

static const struct item current[] = {
    VALUE(HOSTD_ABI_MAJOR), VALUE(HOSTD_ABI_MINOR),
    VALUE(HOSTD_OK), VALUE(HOSTD_ERR_FAILED), VALUE(HOSTD_ERR_CONFIG), VALUE(HOSTD_ERR_EXCEPTION),
    VALUE(HOSTD_ERR_UNAVAILABLE), VALUE(HOSTD_ERR_NOT_FOUND),
    VALUE(HOSTD_LOG_ERROR), VALUE(HOSTD_LOG_WARNING), VALUE(HOSTD_LOG_NOTICE), VALUE(HOSTD_LOG_INFO),
    VALUE(HOSTD_LOG_DEBUG),
    SIZE(hostd_type_result), SIZE(hostd_type_log_level),
    SIZE(hostd_type_str), OFFSET(hostd_type_str, ptr), OFFSET(hostd_type_str, len),
    SIZE(hostd_type_config_entry), OFFSET(hostd_type_config_entry, key), OFFSET(hostd_type_config_entry, value),
    SIZE(hostd_type_config), OFFSET(hostd_type_config, entries), OFFSET(hostd_type_config, count),
    SIZE(hostd_type_message), OFFSET(hostd_type_message, buf), OFFSET(hostd_type_message, cap),
    SIZE(hostd_type_services), OFFSET(hostd_type_services, size), OFFSET(hostd_type_services, reserved),
    OFFSET(hostd_type_services, hostd_cb_log), OFFSET(hostd_type_services, hostd_cb_is_stopping),
    OFFSET(hostd_type_services, hostd_cb_config_get),
#if HOSTD_ABI_MINOR >= 1
    OFFSET(hostd_type_services, hostd_cb_report_failure),
#endif
#if HOSTD_ABI_MINOR >= 2
    OFFSET(hostd_type_services, hostd_cb_thread_tag),
#endif
    SIZE(hostd_type_context), OFFSET(hostd_type_context, size), OFFSET(hostd_type_context, reserved),
    OFFSET(hostd_type_context, instance_name), OFFSET(hostd_type_context, services),
    OFFSET(hostd_type_context, host_data),
    SIZE(hostd_type_descriptor), OFFSET(hostd_type_descriptor, abi_major), OFFSET(hostd_type_descriptor, abi_minor),
    OFFSET(hostd_type_descriptor, size), OFFSET(hostd_type_descriptor, reserved),
    OFFSET(hostd_type_descriptor, version), OFFSET(hostd_type_descriptor, description),
    OFFSET(hostd_type_descriptor, requires_plugins), OFFSET(hostd_type_descriptor, instance),
    OFFSET(hostd_type_descriptor, start), OFFSET(hostd_type_descriptor, stop), OFFSET(hostd_type_descriptor, reload),
};
enum { kCount = sizeof current / sizeof current[0] };

static const struct item* find(const char* name) {
  for (int i = 0; i < kCount; ++i)
    if (strcmp(current[i].name, name) == 0) return &current[i];
  return NULL;
}

static long long baseline_value(const struct item* base, int n, const char* name) {
  for (int i = 0; i < n; ++i)
    if (strcmp(base[i].name, name) == 0) return base[i].value;
  return -1;
}

/* The promise of plugin.h, as rules on numbers: the major and everything laid out stays; the
 * minor and the size of the services table may grow, and a new member of an existing struct
 * is only allowed in the services table, past the old table's end. New enum values and new
 * types are accepted. */
static int is_compatible(const struct item* base, int n, const struct item* now) {
  long long old = baseline_value(base, n, now->name);
  if (old == now->value) return 1;
  if (old >= 0)
    return (strcmp(now->name, "value HOSTD_ABI_MINOR") == 0 || strcmp(now->name, "size hostd_type_services") == 0) &&
           now->value > old;
  if (strncmp(now->name, "offset ", 7) != 0) return 1;
  char type_size[96];
  const char* dot = strchr(now->name, '.');
  snprintf(type_size, sizeof type_size, "size %.*s", (int)(dot - now->name - 7), now->name + 7);
  long long old_size = baseline_value(base, n, type_size);
  if (old_size < 0) return 1; /* a type added since the baseline */
  return strcmp(type_size, "size hostd_type_services") == 0 && now->value >= old_size;
}

static int read_baseline(const char* path, struct item* out, int cap) {
  FILE* f = fopen(path, "r");
  if (f == NULL) {
    fprintf(stderr, "abi_layout: cannot open %s\n", path);
    exit(2);
  }
  static char names[256][96];
  char line[256], kind[16], name[80];
  long long value;
  int n = 0;
  while (fgets(line, sizeof line, f) != NULL && n < cap) {
    if (line[0] == '#' || line[0] == '\n') continue;
    if (sscanf(line, "%15s %79s %lld", kind, name, &value) != 3) continue;
    snprintf(names[n], sizeof names[n], "%s %s", kind, name);
    out[n].name = names[n];
    out[n].value = value;
    ++n;
  }
  fclose(f);
  return n;
}

static int print_layout(FILE* out) {
  fprintf(out, "# hostd plugin ABI %d.%d layout, written by tests/sdk/abi_layout.c (build target\n"
               "# hostd_abi_baseline). A released baseline never changes; see sdk/abi/README.md.\n",
          HOSTD_ABI_MAJOR, HOSTD_ABI_MINOR);
  for (int i = 0; i < kCount; ++i) fprintf(out, "%s %lld\n", current[i].name, current[i].value);
  return fclose(out) == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "--print") == 0) return print_layout(stdout);
  if (argc == 3 && strcmp(argv[1], "--write") == 0) {
    FILE* out = fopen(argv[2], "wx"); /* C11 exclusive mode: fails if the file exists */
    if (out == NULL) {
      fprintf(stderr, "abi_layout: %s exists (or cannot be created); a released baseline is never rewritten: "
                      "bump HOSTD_ABI_MINOR for a new one\n", argv[2]);
      return 1;
    }
    return print_layout(out);
  }
  int exact = argc == 3 && strcmp(argv[1], "--exact") == 0;
  if (argc != 2 && !exact) {
    fprintf(stderr, "usage: abi_layout --print | --write FILE | [--exact] BASELINE\n");
    return 2;
  }
  struct item base[256];
  int n = read_baseline(argv[argc - 1], base, 256);
  int bad = 0;
  for (int i = 0; i < n; ++i)
    if (find(base[i].name) == NULL) {
      printf("INCOMPATIBLE: %s was %lld and is gone\n", base[i].name, base[i].value);
      ++bad;
    }
  for (int i = 0; i < kCount; ++i) {
    long long old = baseline_value(base, n, current[i].name);
    int ok = exact ? old == current[i].value : is_compatible(base, n, &current[i]);
    if (!ok) {
      printf("INCOMPATIBLE: %s is %lld, baseline %s has %lld\n", current[i].name, current[i].value,
             argv[argc - 1], old);
      ++bad;
    }
  }
  printf("%s: %d entries checked, %d incompatible\n", argv[argc - 1], n, bad);
  return bad == 0 ? 0 : 1;
}
