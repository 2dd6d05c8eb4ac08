# Configures, builds and runs tests/consumer_subdir: convstore consumed with add_subdirectory. The library is built
# again here, unoptimised, without debug information and as a unity build (CMake's CMAKE_UNITY_BUILD, which parent
# projects use too) to keep it quick: a quarter of the time of one compile per source.
file(REMOVE_RECURSE "${WORK_DIR}")
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/consumer_subdir" -B "${WORK_DIR}"
                        "-DCONVSTORE_SOURCE_DIR=${SOURCE_DIR}" -DCMAKE_BUILD_TYPE= "-DCMAKE_CXX_FLAGS=-O0"
                        -DCMAKE_UNITY_BUILD=ON
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring a parent project that adds convstore with add_subdirectory failed")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}" --parallel 2 RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the parent project failed")
endif()
foreach(exe consumer consumer_c)
  execute_process(COMMAND "${WORK_DIR}/${exe}" RESULT_VARIABLE rc WORKING_DIRECTORY "${WORK_DIR}")
  if(rc)
    message(FATAL_ERROR "${exe} (convstore through add_subdirectory) failed")
  endif()
endforeach()
message(STATUS "add_subdirectory(convstore) builds, links and runs")
