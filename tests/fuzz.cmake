# Fuzz targets (fuzz/, issue 8): one per parser of outside bytes. Each is built
# as a replay driver in every build, and ctest replays its corpus
# (fuzz/corpus/NAME) and its regression files (fuzz/regressions/NAME: inputs that
# once crashed, hung or leaked). The libFuzzer binaries: -DMAILROOM_FUZZ=ON,
# scripts/fuzz.sh.
set(MAILROOM_FUZZ_TARGETS
    "tiff:mailroom_sign_core"
    "import:mailroom_scan_lib"
    "conf:mailroom_common"
    "scankonzept:mailroom_classify"
    "job:mailroom_common"
    "tsa:mailroom_common"
    "cades:mailroom_tool"
    "receipt:mailroom_export"
    "sep:mailroom_scan_sep"
    "ers:mailroom_common")
foreach(t ${MAILROOM_FUZZ_TARGETS})
  string(REPLACE ":" ";" t ${t})
  list(GET t 0 name)
  list(GET t 1 lib)
  mailroom_fuzz_target(${name} LIBS ${lib})
  add_test(NAME fuzz_replay_${name}
           COMMAND fuzz_replay_${name} ${CMAKE_SOURCE_DIR}/fuzz/corpus/${name}
                   ${CMAKE_SOURCE_DIR}/fuzz/regressions/${name})
  set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS fuzz TIMEOUT 600
                       ENVIRONMENT "${MAILROOM_TEST_ENV};LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/fuzz/lsan.supp;ASAN_OPTIONS=max_allocation_size_mb=1024:allocator_may_return_null=0"
                       SKIP_RETURN_CODE 77)
endforeach()

# fuzz/make-seeds.sh builds the evidence records of the ers corpus with this.
add_executable(fuzz_seed_ers ${CMAKE_SOURCE_DIR}/fuzz/seed_ers.c)
target_link_libraries(fuzz_seed_ers PRIVATE mailroom_common)
set_target_properties(fuzz_seed_ers PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
