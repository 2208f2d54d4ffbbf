# Tests of the key holder (sign/sign_key.c, sign/sign_keyproc.c): a PEM key and a
# SoftHSM2 token (scripts/softhsm.sh), and the proof that the process reading the
# letters never holds the key (sign_keyiso: memory of mailroom-sign and of its key
# holder searched for the private scalar and the PIN).
mailroom_unit_test(sign_key_test SOURCES unit/sign_key_test.c
                   LIBS mailroom_sign_core LABELS unit)
target_compile_definitions(sign_key_test PRIVATE SIGN_TEST_SOURCE="${CMAKE_SOURCE_DIR}")
set_tests_properties(sign_key_test PROPERTIES TIMEOUT 300)

mailroom_script_test(sign_keyiso integration/sign_keyiso.sh LABELS integration TIMEOUT 300)
