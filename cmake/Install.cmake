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

# The Python package, into CONVSTORE_PYTHON's module directory under the prefix (lib/python3.X/dist-packages on
# Debian, the same relative path Python's own scheme uses elsewhere), with _install.py naming the library directory
# of this install: the package then loads the installed library without environment variables. The library
# directory is the one given at install time (cmake --install --prefix), not at configure time.
option(CONVSTORE_INSTALL_PYTHON "Install the Python package with the library" ON)
if(CONVSTORE_INSTALL_PYTHON)
  set(CONVSTORE_PYTHON_INSTALL_DIR "" CACHE STRING
      "Where the Python package is installed, relative to the prefix (empty: Python's scheme, e.g. lib/python3.11/dist-packages)")
  set(convstore_python_dir "${CONVSTORE_PYTHON_INSTALL_DIR}")
  if(NOT convstore_python_dir AND CONVSTORE_PYTHON)
    execute_process(
      COMMAND ${CONVSTORE_PYTHON} -c [=[
import sysconfig
if hasattr(sysconfig, "get_default_scheme"):
    scheme = sysconfig.get_default_scheme()
else:  # Python < 3.10: Debian's own scheme when there is one
    scheme = "posix_local" if "posix_local" in sysconfig.get_scheme_names() else "posix_prefix"
path = sysconfig.get_path("purelib", scheme, vars={"base": "@B@", "platbase": "@B@"}).split("@B@/", 1)[1]
print(path[len("local/"):] if path.startswith("local/") else path)  # Debian's posix_local: <prefix>/lib/...
]=]
      OUTPUT_VARIABLE convstore_python_dir OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE convstore_python_rc)
    if(NOT convstore_python_rc EQUAL 0)
      set(convstore_python_dir "")
    endif()
  endif()
  if(convstore_python_dir)
    install(DIRECTORY bindings/python/convstore DESTINATION ${convstore_python_dir}
      FILES_MATCHING PATTERN "*.py" PATTERN "py.typed" PATTERN "__pycache__" EXCLUDE)
    configure_file(cmake/python_install_info.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/python_install_info.cmake @ONLY)
    install(SCRIPT ${CMAKE_CURRENT_BINARY_DIR}/python_install_info.cmake)
  else()
    message(STATUS "convstore: no Python interpreter found; the Python package is not installed")
  endif()
endif()
