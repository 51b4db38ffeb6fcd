# PARLEY_SANITIZE=ON builds everything with AddressSanitizer and UndefinedBehaviorSanitizer.
option(PARLEY_SANITIZE "Build with ASan and UBSan" OFF)
if(PARLEY_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# PARLEY_TSAN=ON builds everything with ThreadSanitizer (the `tsan` preset). It cannot be combined
# with ASan: the two runtimes own the same shadow memory.
option(PARLEY_TSAN "Build with ThreadSanitizer" OFF)
if(PARLEY_TSAN)
  if(PARLEY_SANITIZE)
    message(FATAL_ERROR "PARLEY_TSAN and PARLEY_SANITIZE cannot be combined")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  # TSan does not model std::atomic_thread_fence (gcc 12 says so with -Wtsan), so code ordered
  # only by a fence looks racy to it. Asio's "fenced blocks" around handler invocation are such
  # fences, and they are redundant on Linux: every handler reaches the thread that runs it through
  # the scheduler's or the reactor's mutex-protected queues, which TSan sees. Asio's own switch
  # replaces them with empty blocks; it must be the same in every translation unit (the blocks are
  # inline code in templates), hence a global definition.
  add_compile_definitions(BOOST_ASIO_DISABLE_FENCED_BLOCK)
endif()
