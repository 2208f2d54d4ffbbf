# Fuzz.cmake - -DMAILROOM_FUZZ=ON (with CC=clang-14) builds everything with
# libFuzzer coverage, ASan and UBSan, and a libFuzzer binary bin/fuzz_<name> per
# target of fuzz/ (scripts/fuzz.sh, `make fuzz`). Whatever the option, every
# target also gets a replay driver (fuzz/replay_main.c) that ctest runs over its
# corpus and regression files (tests/fuzz.cmake).
option(MAILROOM_FUZZ "build the libFuzzer targets of fuzz/ (clang, ASan + UBSan)" OFF)
if(MAILROOM_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "MAILROOM_FUZZ needs clang (CC=clang-14), not ${CMAKE_C_COMPILER_ID}")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined -gline-tables-only)
  add_link_options(-fsanitize=address,undefined)
endif()

# mailroom_fuzz_target(NAME LIBS ...): fuzz/fuzz_NAME.c as the libFuzzer binary
# fuzz_NAME (MAILROOM_FUZZ only) and as the replay driver fuzz_replay_NAME (always).
function(mailroom_fuzz_target name)
  cmake_parse_arguments(F "" "" "LIBS" ${ARGN})
  set(src ${CMAKE_SOURCE_DIR}/fuzz/fuzz_${name}.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_util.c)
  set(defs FUZZ_SOURCE_DIR="${CMAKE_SOURCE_DIR}" FUZZ_SHARED_DIR="${MAILROOM_SHARED_DIR}")
  add_executable(fuzz_replay_${name} ${CMAKE_SOURCE_DIR}/fuzz/replay_main.c ${src})
  target_compile_definitions(fuzz_replay_${name} PRIVATE ${defs})
  target_include_directories(fuzz_replay_${name} PRIVATE ${CMAKE_SOURCE_DIR}/fuzz)
  target_link_libraries(fuzz_replay_${name} PRIVATE ${F_LIBS} mailroom_util)
  set_target_properties(fuzz_replay_${name} PROPERTIES
                        RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  if(MAILROOM_FUZZ)
    add_executable(fuzz_${name} ${src})
    target_compile_definitions(fuzz_${name} PRIVATE ${defs})
    target_include_directories(fuzz_${name} PRIVATE ${CMAKE_SOURCE_DIR}/fuzz)
    target_link_libraries(fuzz_${name} PRIVATE ${F_LIBS} mailroom_util)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    if(NOT TARGET fuzz_targets)
      add_custom_target(fuzz_targets)
    endif()
    add_dependencies(fuzz_targets fuzz_${name})
  endif()
endfunction()
