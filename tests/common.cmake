# Unit tests of util/ and common/.
mailroom_unit_test(common_conf_test SOURCES unit/common_conf_test.c LIBS mailroom_common)
mailroom_unit_test(common_spool_test SOURCES unit/common_spool_test.c LIBS mailroom_common)
mailroom_unit_test(common_journal_test SOURCES unit/common_journal_test.c
                   LIBS mailroom_common PkgConfig::SQLITE3)
# No banned function in production code (issue 8); header self-containment is
# checked by the build (cmake/HeaderCheck.cmake).
mailroom_script_test(code_checks integration/code_checks.sh LABELS unit TIMEOUT 60)
