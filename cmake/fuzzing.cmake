# PARLEY_FUZZ=ON (the `fuzz` preset, clang only): every library is built with libFuzzer's
# coverage instrumentation plus AddressSanitizer and UndefinedBehaviorSanitizer, and fuzz/ adds
# one libFuzzer executable per target. The gcc presets never see any of this.
option(PARLEY_FUZZ "Build the libFuzzer targets under fuzz/ (clang)" OFF)
if(PARLEY_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PARLEY_FUZZ needs clang (libFuzzer): configure with the `fuzz` preset")
  endif()
  # fuzzer-no-link: coverage hooks in the libraries; only the targets link libFuzzer's main.
  # UB is fatal (no recover), so the fuzzer reports it as a crash with its input.
  # -fno-sanitize=function: clang 14 cannot emit its checks for coroutines ("Cannot represent a
  # difference across sections", llvm/llvm-project#49689), and transport/ is coroutines.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined -fno-sanitize=function)
  add_link_options(-fsanitize=address,undefined)
endif()

# One libFuzzer executable: `name` built from `source`, linked with `libs`.
function(parley_fuzz_target name source)
  add_executable(${name} ${source})
  target_link_libraries(${name} PRIVATE ${ARGN})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  parley_warnings(${name})
endfunction()
