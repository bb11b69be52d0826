# hostd_add_plugin(NAME SOURCES... [OUTPUT_DIR dir] [NO_PLUGIN_FLAGS])
#
# Builds the plugin NAME.so (no "lib" prefix) with the flags every hostd plugin needs
# (DESIGN.md section 3): hidden visibility so only the entry symbol is exported,
# -fno-gnu-unique so the image can really be unloaded, -z defs so a missing symbol fails
# the build instead of the load, -z now so a missing symbol fails at load instead of at
# the first call, --exclude-libs,ALL so static libraries linked in export nothing, and a
# version script exporting only hostd_plugin_entry.
#
# NO_PLUGIN_FLAGS exists only to build test fixtures that break these rules on purpose.
#
# The same file serves this source tree and the installed package (find_package(hostd)):
# the version script lies next to it in both.
include_guard(GLOBAL)

# The flags in one place: hostd_add_plugin applies them, sdk/CMakeLists.txt writes them into
# hostd-sdk.pc. Cached (internal) so that every directory sees them, whichever directory ran
# find_package(hostd) first (include_guard skips this file the second time).
set(HOSTD_PLUGIN_VERSION_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/hostd-plugin.map"
    CACHE INTERNAL "hostd plugin version script")
set(HOSTD_PLUGIN_COMPILE_OPTIONS -fPIC -fvisibility=hidden -fno-gnu-unique
    CACHE INTERNAL "hostd plugin compile options (C and C++)")
set(HOSTD_PLUGIN_CXX_COMPILE_OPTIONS -fvisibility-inlines-hidden
    CACHE INTERNAL "hostd plugin compile options (C++ only)")
set(HOSTD_PLUGIN_LINK_OPTIONS
    "LINKER:-z,defs" "LINKER:-z,now" "LINKER:--exclude-libs,ALL"
    "LINKER:--version-script=${HOSTD_PLUGIN_VERSION_SCRIPT}"
    CACHE INTERNAL "hostd plugin link options")

function(hostd_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "NO_PLUGIN_FLAGS" "OUTPUT_DIR" "")
  if(NOT arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "hostd_add_plugin(${name}): no sources given")
  endif()
  add_library(${name} MODULE ${arg_UNPARSED_ARGUMENTS})
  # Visibility and PIC as properties too, so CMake never adds an opposite flag.
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${name}
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  if(arg_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${arg_OUTPUT_DIR})
  endif()
  if(TARGET hostd::sdk)
    target_link_libraries(${name} PRIVATE hostd::sdk)
  endif()
  if(NOT arg_NO_PLUGIN_FLAGS)
    target_compile_options(${name} PRIVATE
      ${HOSTD_PLUGIN_COMPILE_OPTIONS}
      $<$<COMPILE_LANGUAGE:CXX>:${HOSTD_PLUGIN_CXX_COMPILE_OPTIONS}>)
    target_link_options(${name} PRIVATE ${HOSTD_PLUGIN_LINK_OPTIONS})
    set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS ${HOSTD_PLUGIN_VERSION_SCRIPT})
  endif()
endfunction()
