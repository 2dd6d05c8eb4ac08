# Project warning flags; CONVSTORE_WERROR turns them into errors (CI does).
function(convstore_set_warnings target)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "^(GNU|Clang)$")
    return()  # the flags below are GCC/Clang spellings
  endif()
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wconversion -Wno-sign-conversion
       -Wno-missing-field-initializers>  # GCC 12 flags designated initializers that omit defaulted fields
    $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wpedantic>)
  if(CONVSTORE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
