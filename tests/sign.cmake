# Tests of the sign stage (mailroom-sign): the CMS/CAdES builder, the
# Transfervermerk writer (golden file + XSD), and the stage end to end.
# Paths in SOURCES are relative to tests/ (this fragment is included there).
mailroom_unit_test(sign_cades_test SOURCES unit/sign_cades_test.c
                   LIBS mailroom_sign_core LABELS unit)
mailroom_unit_test(sign_tv_test SOURCES unit/sign_tv_test.c
                   LIBS mailroom_sign_core LABELS unit)
target_compile_definitions(sign_tv_test PRIVATE
  SIGN_TEST_XSD="${CMAKE_SOURCE_DIR}/sign/transfervermerk.xsd"
  SIGN_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/data/sign")

# Helper for the integration script: makes a classified letter in spool/sign/incoming.
add_executable(sign_mkjob unit/sign_mkjob.c)
target_link_libraries(sign_mkjob PRIVATE mailroom_common PkgConfig::TIFF OpenSSL::Crypto)
set_target_properties(sign_mkjob PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

mailroom_script_test(sign_stage integration/sign_stage.sh LABELS integration TIMEOUT 300)
