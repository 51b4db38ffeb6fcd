# Warnings for project targets: on, and clean. Third-party headers come in as system includes.
# gcc's -Wshadow=local is spelled -Wshadow-uncaptured-local in clang (the fuzz build).
# PARLEY_WERROR (CI turns it on: see the Makefile) makes any warning fail the build.
option(PARLEY_WERROR "Treat warnings as errors" OFF)
function(parley_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
                                           $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>
                                           -Wnon-virtual-dtor -Wno-missing-field-initializers
                                           $<$<CXX_COMPILER_ID:Clang>:-Wshadow-uncaptured-local>
                                           $<$<BOOL:${PARLEY_WERROR}>:-Werror>)
endfunction()
