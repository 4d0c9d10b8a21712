# What libgevent links, as targets. The build includes this file, and so does the installed
# package config: a program that links the static library links these too (the shared one
# names them itself), found on the consumer's machine rather than at the paths of the machine
# that built gevent.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(OpenSSL 3 REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)
pkg_check_modules(LIBCARES REQUIRED IMPORTED_TARGET libcares)
if(NOT TARGET gevent_deps::libev)  # libev ships no pkg-config file
  find_path(GEVENT_LIBEV_INCLUDE_DIR ev.h REQUIRED)
  find_library(GEVENT_LIBEV_LIBRARY ev REQUIRED)
  add_library(gevent_deps::libev UNKNOWN IMPORTED)
  set_target_properties(gevent_deps::libev PROPERTIES
    IMPORTED_LOCATION ${GEVENT_LIBEV_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${GEVENT_LIBEV_INCLUDE_DIR})
endif()
