# Installation: the shared library, public headers (C++ and C), an exported CMake package and a pkg-config file.
include(CMakePackageConfigHelpers)

set(CONVSTORE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/convstore)

install(TARGETS convstore EXPORT convstoreTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT dev
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/convstore bindings/c/include/convstore
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/generated/convstore/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/convstore)

install(EXPORT convstoreTargets NAMESPACE convstore:: DESTINATION ${CONVSTORE_CMAKE_DIR})
configure_package_config_file(cmake/convstoreConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/convstoreConfig.cmake INSTALL_DESTINATION ${CONVSTORE_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/convstoreConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/convstoreConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/convstoreConfigVersion.cmake
  DESTINATION ${CONVSTORE_CMAKE_DIR})

# Relocatable: the prefix is found relative to the .pc file, so a moved or --prefix'ed install still works.
file(RELATIVE_PATH CONVSTORE_PC_RELPREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
configure_file(cmake/convstore.pc.in ${CMAKE_CURRENT_BINARY_DIR}/convstore.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/convstore.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES data/prices.json DESTINATION ${CMAKE_INSTALL_DATADIR}/convstore)
