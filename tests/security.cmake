# tests/security.cmake - the security guarantees of issue 8 (docs/RELIABILITY-security.md):
# file modes, no content or PIN in logs, hostile spool entries and ids, the journal's
# hash chain, per-letter limits and decompression bombs.
mailroom_script_test(security integration/security.sh LABELS integration TIMEOUT 600)
mailroom_script_test(security_spool integration/security_spool.sh LABELS integration TIMEOUT 600)
mailroom_script_test(security_journal integration/security_journal.sh LABELS integration TIMEOUT 300)

# Generator of decompression bombs and huge pages (not a test by itself).
add_executable(hostile_mkbomb data/hostile/mkbomb.c)
target_link_libraries(hostile_mkbomb PRIVATE PkgConfig::TIFF)
set_target_properties(hostile_mkbomb PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
# "plain": RLIMIT_AS cannot be checked under ASan; make test runs it in the plain build too
mailroom_script_test(security_limits integration/security_limits.sh LABELS "integration;plain" TIMEOUT 900)
