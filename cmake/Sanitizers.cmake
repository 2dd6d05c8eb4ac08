# CONVSTORE_SANITIZE: a -fsanitize= list for every target of the build, e.g. "address,undefined" or "thread".
# Each sanitizer gets its own build directory (scripts/test.sh uses build-asan and build-tsan).
set(CONVSTORE_SANITIZE "" CACHE STRING "Sanitizers for the whole build (address,undefined | thread)")
if(CONVSTORE_SANITIZE)
  add_compile_options(-fsanitize=${CONVSTORE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${CONVSTORE_SANITIZE})
  message(STATUS "convstore: sanitizers ${CONVSTORE_SANITIZE}")
endif()

# Clang links its ASan runtime into executables only, so a shared library linked with --no-undefined (libconvstore)
# would not link: every target uses the shared runtime instead, found through an rpath.
set(convstore_asan_runtime_name libasan.so)
if(CONVSTORE_SANITIZE MATCHES "address" AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  set(convstore_asan_runtime_name libclang_rt.asan-${CMAKE_SYSTEM_PROCESSOR}.so)
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=${convstore_asan_runtime_name}
                  OUTPUT_VARIABLE clang_asan_runtime OUTPUT_STRIP_TRAILING_WHITESPACE)
  get_filename_component(clang_asan_dir "${clang_asan_runtime}" DIRECTORY)
  add_link_options(-shared-libasan "LINKER:-rpath,${clang_asan_dir}")
endif()

# Environment for tests that load the library into the (uninstrumented) Python interpreter: preload the ASan
# runtime, and leave leak checking to the C/C++ tests (CPython keeps objects alive until exit by design).
# CONVSTORE_SANITIZER names the sanitizer for tests that must adapt to its runtime (see test_hardening.py).
set(CONVSTORE_PYTHON_TEST_ENV "")
if(CONVSTORE_SANITIZE MATCHES "address")
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=${convstore_asan_runtime_name} OUTPUT_VARIABLE asan_runtime
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  # libstdc++ too: ASan's __cxa_throw interceptor must find the real one at startup, before ctypes loads us.
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libstdc++.so OUTPUT_VARIABLE cxx_runtime
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(CONVSTORE_PYTHON_TEST_ENV "LD_PRELOAD=${asan_runtime}:${cxx_runtime}" "ASAN_OPTIONS=detect_leaks=0"
      "CONVSTORE_SANITIZER=address")
endif()
