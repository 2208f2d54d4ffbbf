# Tests of the RFC 3161 client, the CAdES-B-T upgrade and the test TSA
# (tsa/test_tsa.c, scripts/tsa.sh). Both start a real mailroom-test-tsa on
# 127.0.0.1 with a fresh test PKI. sign_tsa_test doubles as the helper of the
# integration script (make-bb / upgrade / stamp).
mailroom_unit_test(sign_tsa_test SOURCES unit/sign_tsa_test.c
                   LIBS mailroom_sign_core LABELS unit)
mailroom_script_test(sign_tsa integration/sign_tsa.sh LABELS integration TIMEOUT 120)
# The tests exec the TSA from build/bin: build it with them.
add_dependencies(sign_tsa_test mailroom-test-tsa)
