# `cmake --build build --target uninstall`: removes the files the last
# `cmake --install` of this build tree wrote, as listed in its
# install_manifest.txt (MANIFEST), under $DESTDIR when set (CMake lists the
# paths without it).  Nothing else: the operator's own files (rspamd's
# local.d/ and override.d/mekiki*.conf, local.cf lines, the compiled-pattern
# caches) are not in the manifest and stay.  Directories are removed only
# when mekiki's own (named mekiki or Mekiki) and left empty.  The manifest is
# then renamed install_manifest.txt.uninstalled, so that a second run says so.

if(NOT MANIFEST)
  message(FATAL_ERROR "uninstall: run as cmake -DMANIFEST=<build>/install_manifest.txt -P ${CMAKE_CURRENT_LIST_FILE}")
endif()
if(NOT EXISTS "${MANIFEST}")
  if(EXISTS "${MANIFEST}.uninstalled")
    message(FATAL_ERROR "uninstall: nothing to do: the files listed in ${MANIFEST}.uninstalled "
                        "were uninstalled already")
  endif()
  message(FATAL_ERROR "uninstall: ${MANIFEST} not found: nothing was installed from this "
                      "build tree (`cmake --install` writes it).  Without it, remove the "
                      "files listed in README.md, \"Install into rspamd\".")
endif()

file(STRINGS "${MANIFEST}" _files)
set(_dirs "")
set(_failed 0)
foreach(_f IN LISTS _files)
  if(_f STREQUAL "")
    continue()
  endif()
  set(_real "$ENV{DESTDIR}${_f}")
  if(IS_SYMLINK "${_real}" OR EXISTS "${_real}")
    message(STATUS "Removing: ${_real}")
    file(REMOVE "${_real}")
    if(IS_SYMLINK "${_real}" OR EXISTS "${_real}")
      message(WARNING "uninstall: could not remove ${_real}")
      set(_failed 1)
    endif()
  else()
    message(STATUS "Not there: ${_real}")
  endif()
  # mekiki's own directories (share/mekiki, share/lua/5.1/mekiki,
  # .../Plugin/Mekiki): removed below if nothing else is left in them.
  get_filename_component(_d "${_f}" DIRECTORY)
  get_filename_component(_name "${_d}" NAME)
  while(_name MATCHES "^[Mm]ekiki$")
    list(APPEND _dirs "$ENV{DESTDIR}${_d}")
    get_filename_component(_d "${_d}" DIRECTORY)
    get_filename_component(_name "${_d}" NAME)
  endwhile()
endforeach()
list(REMOVE_DUPLICATES _dirs)
# Deepest first.
list(SORT _dirs ORDER DESCENDING)
foreach(_d IN LISTS _dirs)
  file(GLOB _left "${_d}/*" "${_d}/.*")
  if(IS_DIRECTORY "${_d}" AND NOT _left)
    message(STATUS "Removing: ${_d}/")
    file(REMOVE_RECURSE "${_d}")
  endif()
endforeach()
if(_failed)
  message(FATAL_ERROR "uninstall: some files could not be removed (see above); "
                      "${MANIFEST} is kept")
endif()
file(RENAME "${MANIFEST}" "${MANIFEST}.uninstalled")
