# Install rules and the Debian package (CPack DEB). Included by the top-level CMakeLists.txt
# after the host, SDK and plugins are defined (the SDK's own rules are in sdk/CMakeLists.txt).
#
#   cmake --install build [--prefix DIR]        sbin/hostd, the unit, the empty plugin dir, ...
#   (cd build && cpack -G DEB)                  build/hostd_<version>_<arch>.deb and hostd-dev_...
#
# With prefix /usr (the package), the configuration goes to /etc and the unit to
# /lib/systemd/system, where Debian keeps them; with any other prefix both stay below it.
include(GNUInstallDirs)

install(TARGETS hostd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS hostd-runner RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/hostd)  # isolated plugins' process

# The plugin directory, empty: plugin_dir defaults to /usr/lib/hostd. Not CMAKE_INSTALL_LIBDIR,
# which is multiarch (lib/x86_64-linux-gnu) for /usr on Debian.
install(DIRECTORY DESTINATION lib/hostd)

# The example plugins, built, with their sources: documentation, never loaded unless copied
# into the plugin directory.
install(TARGETS heartbeat echo LIBRARY DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/plugins/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/src
        FILES_MATCHING PATTERN "*.cpp" PATTERN "*.h" PATTERN "README.md")
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The configuration and the unit are placed at install time, when the prefix is known (CPack
# installs with its own). An existing hostd.conf is the operator's: never overwritten.
install(CODE "set(hostd_etc_source \"${PROJECT_SOURCE_DIR}/etc\")")
install(CODE [[
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(hostd_sysconfdir "/etc")
    set(hostd_unitdir "/lib/systemd/system")
  else()
    set(hostd_sysconfdir "${CMAKE_INSTALL_PREFIX}/etc")
    set(hostd_unitdir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
  endif()
  if(EXISTS "$ENV{DESTDIR}${hostd_sysconfdir}/hostd.conf")
    message(STATUS "Keeping: $ENV{DESTDIR}${hostd_sysconfdir}/hostd.conf")
  else()
    file(INSTALL DESTINATION "${hostd_sysconfdir}" TYPE FILE FILES "${hostd_etc_source}/hostd.conf")
  endif()
  file(INSTALL DESTINATION "${hostd_unitdir}" TYPE FILE FILES "${hostd_etc_source}/hostd.service")
  # logrotate's rule for log_target = /var/log/hostd/hostd.log (missingok: harmless otherwise);
  # the operator's, like hostd.conf, once installed.
  if(NOT EXISTS "$ENV{DESTDIR}${hostd_sysconfdir}/logrotate.d/hostd")
    file(INSTALL DESTINATION "${hostd_sysconfdir}/logrotate.d" TYPE FILE RENAME hostd
         FILES "${hostd_etc_source}/hostd.logrotate")
  endif()
]])

# Maintainer scripts, as dh_installsystemd and dh_installdeb would write them: the system
# user the unit runs as, the unit enabled and started on install (restarted on upgrade),
# stopped on removal, its enablement state purged on purge.
set(HOSTD_DEBIAN_DIR ${PROJECT_BINARY_DIR}/debian)
file(CONFIGURE OUTPUT ${HOSTD_DEBIAN_DIR}/conffiles CONTENT "/etc/hostd.conf\n/etc/logrotate.d/hostd\n")
file(CONFIGURE OUTPUT ${HOSTD_DEBIAN_DIR}/postinst @ONLY CONTENT [=[#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
    # hostd.service runs hostd as this user (User=hostd); systemd creates its directories.
    if ! getent passwd hostd >/dev/null; then
        adduser --system --group --home /var/lib/hostd --no-create-home --quiet hostd
    fi
fi
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ]; then
    deb-systemd-helper unmask 'hostd.service' >/dev/null || true
    # was-enabled is true on a first installation: the unit is enabled then, and an
    # operator's "systemctl disable" is respected on upgrades.
    if deb-systemd-helper --quiet was-enabled 'hostd.service'; then
        deb-systemd-helper enable 'hostd.service' >/dev/null || true
    else
        deb-systemd-helper update-state 'hostd.service' >/dev/null || true
    fi
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
        if [ -n "$2" ]; then action=restart; else action=start; fi
        deb-systemd-invoke "$action" 'hostd.service' >/dev/null || true
    fi
fi
exit 0
]=])
file(CONFIGURE OUTPUT ${HOSTD_DEBIAN_DIR}/prerm @ONLY CONTENT [=[#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    deb-systemd-invoke stop 'hostd.service' >/dev/null || true
fi
exit 0
]=])
file(CONFIGURE OUTPUT ${HOSTD_DEBIAN_DIR}/postrm @ONLY CONTENT [=[#!/bin/sh
set -e
if [ "$1" = "remove" ] && [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = "remove" ] && [ -x /usr/bin/deb-systemd-helper ]; then
    deb-systemd-helper mask 'hostd.service' >/dev/null || true
fi
if [ "$1" = "purge" ] && [ -x /usr/bin/deb-systemd-helper ]; then
    deb-systemd-helper purge 'hostd.service' >/dev/null || true
    deb-systemd-helper unmask 'hostd.service' >/dev/null || true
fi
exit 0
]=])
foreach(script postinst prerm postrm)
  file(CHMOD ${HOSTD_DEBIAN_DIR}/${script} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
       GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()

set(CPACK_GENERATOR DEB)
# Two packages, as Debian splits a service from its development files: hostd (component
# daemon: the daemon, its configuration, unit and examples) and hostd-dev (component sdk:
# headers, CMake package, pkg-config file, hostd-plugin-check, the plugin template).
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL daemon sdk)
set(CPACK_DEBIAN_DAEMON_PACKAGE_NAME hostd)
set(CPACK_DEBIAN_SDK_PACKAGE_NAME hostd-dev)
set(CPACK_DEBIAN_SDK_PACKAGE_SECTION libdevel)
# The first line of each description is the package's summary (CPack would prepend
# CPACK_PACKAGE_DESCRIPTION_SUMMARY to both, so that one is left unset).
set(CPACK_DEBIAN_DAEMON_DESCRIPTION "plugin-hosting daemon
hostd loads NAME.so plugins from /usr/lib/hostd, starts them in dependency order, reloads their
configuration on SIGHUP and drains them in reverse order on SIGTERM, each within a deadline.")
set(CPACK_DEBIAN_SDK_DESCRIPTION "SDK for hostd plugins
The C ABI header, the header-only C++ wrapper, a CMake package and pkg-config file to build
hostd plugins, hostd-plugin-check to check a built plugin, and a plugin template.")
set(CPACK_PACKAGE_NAME hostd)
set(CPACK_PACKAGE_VENDOR "hostd")
set(CPACK_PACKAGE_CONTACT "hostd maintainers <hostd@localhost>")
# Install with prefix /usr into a DESTDIR, as a real installation would, so that the install
# code above sees /usr and puts hostd.conf in /etc and the unit in /lib/systemd/system.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_DAEMON_PACKAGE_SECTION admin)
# The Poco and libcap runtime libraries (and libc, libstdc++) from dpkg-shlibdeps; adduser for postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DAEMON_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_DAEMON_PACKAGE_CONTROL_EXTRA
    ${HOSTD_DEBIAN_DIR}/conffiles ${HOSTD_DEBIAN_DIR}/postinst ${HOSTD_DEBIAN_DIR}/prerm ${HOSTD_DEBIAN_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
