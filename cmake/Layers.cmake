# One static library per folder of src/, in layer order, each linking only the layers below it
# that it names. An #include "<folder>/..." of a folder that is not among a layer's (transitive)
# dependencies stops the configure step with the file and line, so an upward include cannot
# land even where it would happen to link (a header-only use, say).

set(MAILROOM_LAYERS "")

# mailroom_layer(NAME DEPS <layers below> LIBS <external libraries> [SKIP <files>])
# SKIP names sources left out of this build (the fuzz build leaves out the event-loop parts,
# which clang 14 cannot compile against Debian's Asio coroutines).
function(mailroom_layer name)
  cmake_parse_arguments(L "" "" "DEPS;LIBS;SKIP" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  list(FILTER sources EXCLUDE REGEX "/src/cli/main\\.cpp$")
  foreach(skip ${L_SKIP})
    list(REMOVE_ITEM sources ${PROJECT_SOURCE_DIR}/src/${name}/${skip})
  endforeach()
  set(allowed ${name})
  foreach(dep ${L_DEPS})
    if(NOT dep IN_LIST MAILROOM_LAYERS)
      message(FATAL_ERROR "layer ${name}: dependency ${dep} is not a layer below it")
    endif()
    list(APPEND allowed ${dep} ${MAILROOM_ALLOWED_${dep}})
  endforeach()
  list(REMOVE_DUPLICATES allowed)
  set(MAILROOM_ALLOWED_${name} ${allowed} PARENT_SCOPE)
  mailroom_check_includes(${name} "${allowed}")

  set(target mailroom_${name})
  if(sources)
    add_library(${target} STATIC ${sources})
    set(scope PUBLIC)
  else()
    add_library(${target} INTERFACE)  # header-only layer
    set(scope INTERFACE)
  endif()
  target_include_directories(${target} ${scope} ${PROJECT_SOURCE_DIR}/src)
  foreach(dep ${L_DEPS})
    target_link_libraries(${target} ${scope} mailroom_${dep})
  endforeach()
  if(L_LIBS)
    target_link_libraries(${target} ${scope} ${L_LIBS})
  endif()
  list(APPEND MAILROOM_LAYERS ${name})
  set(MAILROOM_LAYERS ${MAILROOM_LAYERS} PARENT_SCOPE)
endfunction()

# Fails the configure step when a file of src/<name>/ includes a folder outside `allowed`.
function(mailroom_check_includes name allowed)
  file(GLOB files CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp
       ${PROJECT_SOURCE_DIR}/src/${name}/*.hpp)
  foreach(f ${files})
    file(STRINGS ${f} includes REGEX "^[ \t]*#[ \t]*include[ \t]+\"[a-z_]+/")
    foreach(line ${includes})
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([a-z_]+)/.*" "\\1" folder "${line}")
      if(NOT folder IN_LIST allowed)
        file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${f})
        message(FATAL_ERROR "layering: ${rel} includes \"${folder}/...\", but src/${name}/ may "
                            "only use ${allowed} (see cmake/Layers.cmake and README 'Layout')")
      endif()
    endforeach()
  endforeach()
endfunction()
