# scan_page.cmake - the page analysis of mailroom-scan: the separator payload
# grammar (unit), blank score, separator QR codes and orientation on real page
# images, `mailroom sheets` (scan_page.sh), and the issue's acceptance run: a
# 60-sheet duplex stack through the eSCL emulator and SANE's escl backend
# (scan_acceptance.sh).
mailroom_unit_test(scan_sep_test SOURCES unit/scan_sep_test.c
                   LIBS mailroom_scan_sep mailroom_util LABELS unit)

# Helper of the scripts (not a test itself): the real analysis on image files,
# page images prepared as a scanner delivers them, pages matched to references.
add_executable(scan_pagetool unit/scan_pagetool.c)
target_link_libraries(scan_pagetool PRIVATE mailroom_scan_lib)
set_target_properties(scan_pagetool PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
pkg_check_modules(SCAN_PAGE_QRENCODE REQUIRED IMPORTED_TARGET libqrencode)
target_link_libraries(scan_pagetool PRIVATE PkgConfig::SCAN_PAGE_QRENCODE)
# the scripts run mailroom-scan, mailroom (sheets) and the eSCL emulator
add_dependencies(scan_pagetool mailroom-scan mailroom mailroom-escl-emulator escl_pnmtool)

mailroom_script_test(scan_page integration/scan_page.sh LABELS integration TIMEOUT 300)
mailroom_script_test(scan_acceptance integration/scan_acceptance.sh LABELS integration TIMEOUT 420)
