# tests/verify.cmake - `mailroom verify`: the signature checks one by one
# (verify_test, in process with OpenSSL: every check with a positive control and a
# negative one) and the command on what the real stages write (verify_cli: sign
# stage letters, xdomea packages, B-T fixtures, damaged variants, agreement with
# openssl cms -verify, openssl ts -verify and GnuTLS certtool).
# Paths in SOURCES are relative to tests/ (this fragment is included there).
mailroom_unit_test(verify_test SOURCES unit/verify_test.c unit/verify_fix.c
                   LIBS mailroom_tool mailroom_sign_core LABELS unit)
target_compile_definitions(verify_test PRIVATE
  VERIFY_TEST_XSD="${CMAKE_SOURCE_DIR}/sign/transfervermerk.xsd"
  VERIFY_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/data/sign")

# Helper for the integration script: B-T signatures and damaged variants (not a test).
add_executable(verify_mkfix unit/verify_mkfix.c unit/verify_fix.c)
target_link_libraries(verify_mkfix PRIVATE mailroom_common OpenSSL::Crypto)
set_target_properties(verify_mkfix PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

mailroom_script_test(verify_cli integration/verify_cli.sh LABELS integration TIMEOUT 300)
