# Installs the library and headers with a package config, so that a project can use
#   find_package(gevent-cpp REQUIRED)
#   target_link_libraries(app PRIVATE gevent::gevent)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(GEVENT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/gevent-cpp)
set_target_properties(gevent PROPERTIES EXPORT_NAME gevent)

install(TARGETS gevent EXPORT gevent-cppTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/gevent DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT gevent-cppTargets NAMESPACE gevent:: DESTINATION ${GEVENT_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/gevent-cppConfig.cmake.in
  ${PROJECT_BINARY_DIR}/gevent-cppConfig.cmake INSTALL_DESTINATION ${GEVENT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gevent-cppConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gevent-cppConfig.cmake
  ${PROJECT_BINARY_DIR}/gevent-cppConfigVersion.cmake DESTINATION ${GEVENT_CMAKE_DIR})
