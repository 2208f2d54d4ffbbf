# tests/resign.cmake - evidence records (common/ers.c), mailroom-resign and
# `mailroom verify` of evidence records.
#   ers_vector_<id>  one test per RFC 4998 interop vector of ../shared/vectors/ers
#                    (MANIFEST.tsv): the verdict the manifest expects; skipped (77)
#                    when the shared vectors are absent
# Paths in SOURCES are relative to tests/ (this fragment is included there).
add_executable(ers_vectors unit/ers_vectors.c)
target_link_libraries(ers_vectors PRIVATE mailroom_common)
set_target_properties(ers_vectors PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

set(ERS_VECTORS_MANIFEST ${MAILROOM_SHARED_DIR}/vectors/ers/MANIFEST.tsv)
if(EXISTS ${ERS_VECTORS_MANIFEST})
  file(STRINGS ${ERS_VECTORS_MANIFEST} ers_lines)
  foreach(line ${ers_lines})
    string(REGEX MATCH "^[^\t]+" ers_id "${line}")
    if(ers_id AND NOT ers_id STREQUAL "id")
      add_test(NAME ers_vector_${ers_id} COMMAND ers_vectors ${ers_id})
      set_tests_properties(ers_vector_${ers_id} PROPERTIES LABELS "unit;ers"
                           ENVIRONMENT "${MAILROOM_TEST_ENV}" SKIP_RETURN_CODE 77)
    endif()
  endforeach()
else()
  # the vectors are not beside this checkout: one test that says so (77)
  add_test(NAME ers_vectors COMMAND ers_vectors)
  set_tests_properties(ers_vectors PROPERTIES LABELS "unit;ers"
                       ENVIRONMENT "${MAILROOM_TEST_ENV}" SKIP_RETURN_CODE 77)
endif()

# Path validation at genTime (an option of ers_verify, not part of the vectors'
# verdicts): a Governikus ER with two chains validates against its root; the
# BNotK token of ervt-bin-01 fails (its root expired before genTime: the
# shell model), dss-misc-06's TSA certificate has keyEncipherment (unsuitable
# purpose) - as the vectors' README describes.
if(EXISTS ${ERS_VECTORS_MANIFEST})
  foreach(pv "bc-tresor-03=VALID" "dss-renew-01=VALID" "ervt-xaip-06e=VALID" "ervt-bin-01=INVALID:TST_CHAIN@c0a0"
          "dss-misc-06=INVALID:TST_CHAIN@c0a0")
    string(REPLACE "=" ";" pvl "${pv}")
    list(GET pvl 0 pv_id)
    list(GET pvl 1 pv_want)
    add_test(NAME ers_path_${pv_id} COMMAND ers_vectors --path-want ${pv_want} ${pv_id})
    set_tests_properties(ers_path_${pv_id} PROPERTIES LABELS "unit;ers"
                         ENVIRONMENT "${MAILROOM_TEST_ENV}" SKIP_RETURN_CODE 77)
  endforeach()
endif()

# mailroom-resign end to end (tests/integration/resign.sh): real sealed letters,
# the test TSA, kills at every fault point, renewals, Bouncy Castle cross-check.
mailroom_script_test(resign integration/resign.sh LABELS integration TIMEOUT 900)
add_dependencies(ers_vectors mailroom-resign mailroom-test-tsa sign_mkjob mailroom-sign
                 mailroom-dms-export mailroom)

# common/ers.c in process: trees, records, renewals, every verdict with its
# negative control, hostile input (real tokens from an in-process TS_RESP_CTX).
mailroom_unit_test(ers_test SOURCES unit/ers_test.c LIBS mailroom_common OpenSSL::Crypto
                   LABELS "unit;ers")
