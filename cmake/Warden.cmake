# Helpers every folder uses: one library target per folder, one test binary per library.

add_library(warden_warnings INTERFACE)
target_compile_options(warden_warnings INTERFACE
  -Wall -Wextra -Werror -Wimplicit-fallthrough -Wformat=2 $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor>)
# g++ 12 at -O3 reports impossible overlaps inside std::string (GCC bug 105329): a warning there,
# not an error, so the release preset builds.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(warden_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wno-error=restrict>)
endif()

configure_file(${PROJECT_SOURCE_DIR}/cmake/version.h.in
               ${PROJECT_BINARY_DIR}/generated/warden/version.h @ONLY)

# warden_library(<name> SOURCES ... [DEPS ...]) -> target warden_<name>, alias warden::<name>.
function(warden_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(warden_${name} STATIC ${ARG_SOURCES})
  add_library(warden::${name} ALIAS warden_${name})
  target_include_directories(warden_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated>)
  target_link_libraries(warden_${name} PUBLIC ${ARG_DEPS} PRIVATE warden_warnings)
endfunction()

# warden_tests(<library> SOURCES ... [DEPS ...]) -> binary warden_<library>_tests under CTest.
function(warden_tests library)
  if(NOT WARDEN_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  set(target warden_${library}_tests)
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE warden::${library} ${ARG_DEPS} GTest::gmock GTest::gtest_main
                                          warden_warnings)
  gtest_discover_tests(${target} TEST_PREFIX "${library}." DISCOVERY_TIMEOUT 60)
endfunction()

# warden_idl_generate(<var> IDL <file.idl> [ACF <file.acf>] [ARGS ...]): runs `warden idl` at build
# time into this directory's generated/<name>/ and sets <var> to the stubs it writes (the header
# is there too: add the directory to the target's include path, which is in <var>_DIR).
function(warden_idl_generate var)
  cmake_parse_arguments(ARG "" "IDL;ACF" "ARGS" ${ARGN})
  get_filename_component(name ${ARG_IDL} NAME_WE)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/generated/${name})
  add_custom_command(
    OUTPUT ${out}/${name}.h ${out}/${name}_c.cc ${out}/${name}_s.cc
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
    COMMAND warden idl ${ARG_IDL} -o ${out} --header --client --server ${ARG_ARGS}
    DEPENDS warden ${ARG_IDL} ${ARG_ACF}
    COMMENT "warden idl ${name}.idl")
  set(${var} ${out}/${name}_c.cc ${out}/${name}_s.cc PARENT_SCOPE)
  set(${var}_DIR ${out} PARENT_SCOPE)
endfunction()
