# FindCUDNN: locate cuDNN (which ships no CMake package) and define CUDNN::cudnn.
#
# Override with CUDNN_PATH (cache variable or environment): the cuDNN root holding include/
# and lib/ or lib64/. Otherwise the CUDA toolkit's directories are searched, and the pip wheel
# layout (.../nvidia/cudnn) via CUDNN_PATH.
#
# Sets CUDNN_FOUND, CUDNN_INCLUDE_DIR, CUDNN_LIBRARY, CUDNN_VERSION (from cudnn_version.h,
# e.g. 9.19.0), CUDNN_VERSION_MAJOR; defines the IMPORTED target CUDNN::cudnn. Only the
# libcudnn shim is linked: cuDNN 9 dlopens its sub-libraries (graph, engines, ops...) from the
# same directory at run time.
set(CUDNN_PATH "$ENV{CUDNN_PATH}" CACHE PATH "cuDNN install root (holds include/ and lib/)")

set(_qg_cudnn_hints ${CUDNN_PATH})
if(CUDAToolkit_INCLUDE_DIRS)
  list(APPEND _qg_cudnn_hints ${CUDAToolkit_INCLUDE_DIRS})
endif()
if(CUDAToolkit_LIBRARY_DIR)
  list(APPEND _qg_cudnn_lib_hints ${CUDAToolkit_LIBRARY_DIR})
endif()

find_path(CUDNN_INCLUDE_DIR cudnn_version.h
  HINTS ${_qg_cudnn_hints}
  PATH_SUFFIXES include)
# The pip wheel (nvidia-cudnn-cu*) ships only libcudnn.so.9, without the unversioned link.
find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 NAMES_PER_DIR
  HINTS ${CUDNN_PATH} ${_qg_cudnn_lib_hints} ${CUDAToolkit_LIBRARY_ROOT}
  PATH_SUFFIXES lib64 lib lib/x64)

if(CUDNN_INCLUDE_DIR AND EXISTS "${CUDNN_INCLUDE_DIR}/cudnn_version.h")
  file(STRINGS "${CUDNN_INCLUDE_DIR}/cudnn_version.h" _qg_cudnn_defs
       REGEX "^#define[ \t]+CUDNN_(MAJOR|MINOR|PATCHLEVEL)[ \t]+[0-9]+")
  foreach(_part MAJOR MINOR PATCHLEVEL)
    string(REGEX MATCH "CUDNN_${_part}[ \t]+([0-9]+)" _m "${_qg_cudnn_defs}")
    set(_qg_cudnn_${_part} "${CMAKE_MATCH_1}")
  endforeach()
  if(NOT "${_qg_cudnn_MAJOR}" STREQUAL "")
    set(CUDNN_VERSION_MAJOR ${_qg_cudnn_MAJOR})
    set(CUDNN_VERSION "${_qg_cudnn_MAJOR}.${_qg_cudnn_MINOR}.${_qg_cudnn_PATCHLEVEL}")
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CUDNN
  REQUIRED_VARS CUDNN_LIBRARY CUDNN_INCLUDE_DIR CUDNN_VERSION
  VERSION_VAR CUDNN_VERSION)

if(CUDNN_FOUND AND NOT TARGET CUDNN::cudnn)
  add_library(CUDNN::cudnn UNKNOWN IMPORTED)
  set_target_properties(CUDNN::cudnn PROPERTIES
    IMPORTED_LOCATION "${CUDNN_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CUDNN_INCLUDE_DIR}")
endif()
mark_as_advanced(CUDNN_INCLUDE_DIR CUDNN_LIBRARY)
unset(_qg_cudnn_hints)
unset(_qg_cudnn_lib_hints)
unset(_qg_cudnn_defs)
