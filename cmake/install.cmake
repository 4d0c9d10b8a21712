# Installs the libraries and headers with a CMake package and pkg-config files, so that a
# project can use
#   find_package(gevent-cpp REQUIRED)
#   target_link_libraries(app PRIVATE gevent::gevent)   # and gevent::monkey for the hooks
# or `pkg-config --cflags --libs gevent-cpp` (gevent-cpp-monkey for the hooks). Both are
# relocatable: the installed tree works wherever it is moved.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(GEVENT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/gevent-cpp)
set_target_properties(gevent PROPERTIES EXPORT_NAME gevent)
set_target_properties(gevent_monkey PROPERTIES EXPORT_NAME monkey_hooks)
set_target_properties(gevent_monkey_whole PROPERTIES EXPORT_NAME monkey)

install(TARGETS gevent gevent_monkey gevent_monkey_whole EXPORT gevent-cppTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/gevent DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT gevent-cppTargets NAMESPACE gevent:: DESTINATION ${GEVENT_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/gevent-cppConfig.cmake.in
  ${PROJECT_BINARY_DIR}/gevent-cppConfig.cmake INSTALL_DESTINATION ${GEVENT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gevent-cppConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gevent-cppConfig.cmake
  ${PROJECT_BINARY_DIR}/gevent-cppConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/gevent-dependencies.cmake
  ${PROJECT_SOURCE_DIR}/cmake/gevent-link-features.cmake DESTINATION ${GEVENT_CMAKE_DIR})

# pkg-config: paths relative to the .pc file's own directory (${pcfiledir}).
if(BUILD_SHARED_LIBS)
  set(GEVENT_MONKEY_PC_LIBS "-Wl,--push-state,--no-as-needed -lgevent_monkey -Wl,--pop-state")
else()
  set(GEVENT_MONKEY_PC_LIBS "-Wl,--whole-archive -lgevent_monkey -Wl,--no-whole-archive")
endif()
set(GEVENT_PKGCONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH GEVENT_PC_TO_PREFIX /${GEVENT_PKGCONFIG_DIR} /)
foreach(pc gevent-cpp gevent-cpp-monkey)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc DESTINATION ${GEVENT_PKGCONFIG_DIR})
endforeach()
