# Run at every build (not only at configure), so reports name the revision that was really built.
# Inputs: SRC (source dir), IN (version.h.in), OUT (generated header), plus the @VARS@ of version.h.in.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE ORTKIT_GIT_REV OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
execute_process(COMMAND git status --porcelain --untracked-files=no WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT ORTKIT_GIT_REV)
  set(ORTKIT_GIT_REV "unknown")
elseif(dirty)
  set(ORTKIT_GIT_REV "${ORTKIT_GIT_REV}-dirty")
endif()
configure_file(${IN} ${OUT} @ONLY)  # rewrites only when the content changes: no needless rebuilds
