# The server's one-way arrows, checked on every include of server/src:
#   transport -> api -> services -> store -> common, and outbound beside services;
#   only app/ (the composition root) names the SQLite store.
# Run at configure time (a violation stops the build) and as the ctest test `layering`:
#   cmake -DPARLEY_SRC=<server/src> -P cmake/check_layering.cmake

if(NOT PARLEY_SRC)
  message(FATAL_ERROR "check_layering: set PARLEY_SRC to server/src")
endif()

# What each folder may include (folders of server/src); store/sqlite is named on its own.
set(allowed_common "common")
set(allowed_store "common;store")
set(allowed_store/sqlite "common;store;store/sqlite")
set(allowed_outbound "common;outbound")
set(allowed_services "common;store;outbound;services")
set(allowed_api "common;store;outbound;services;api")
set(allowed_transport "common;store;services;api;transport")
set(allowed_app "common;store;store/sqlite;outbound;services;api;transport;app")

file(GLOB_RECURSE sources RELATIVE ${PARLEY_SRC} ${PARLEY_SRC}/*.cpp ${PARLEY_SRC}/*.hpp)
set(violations "")
foreach(source IN LISTS sources)
  # The layer of the including file: its first folder, or store/sqlite.
  string(REGEX MATCH "^[a-z_]+" layer "${source}")
  if(source MATCHES "^store/sqlite/")
    set(layer "store/sqlite")
  elseif(source MATCHES "^services/push/")
    set(layer "services")
  endif()
  if(NOT DEFINED allowed_${layer})
    list(APPEND violations "${source}: folder ${layer} has no layering rule (add one)")
    continue()
  endif()
  file(STRINGS ${PARLEY_SRC}/${source} includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]+)\".*" "\\1" target "${line}")
    if(NOT target MATCHES "/")
      continue()  # a file of the same folder
    endif()
    string(REGEX MATCH "^[a-z_]+" target_layer "${target}")
    if(target MATCHES "^store/sqlite/")
      set(target_layer "store/sqlite")
    endif()
    list(FIND allowed_${layer} "${target_layer}" found)
    if(found EQUAL -1)
      string(REPLACE ";" ", " may "${allowed_${layer}}")
      list(APPEND violations "${source} includes ${target} (${layer} may include: ${may})")
    endif()
  endforeach()
endforeach()

if(violations)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "layering: includes against the server's one-way arrows:\n  ${text}")
endif()
