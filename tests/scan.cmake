# scan.cmake - tests of mailroom-scan: the TIFF writer and the import decoders
# (unit), SANE capture with the test backend and the import folder (integration).
mailroom_unit_test(scan_tiff_test SOURCES unit/scan_tiff_test.c
                   LIBS mailroom_scan_lib LABELS unit)
mailroom_unit_test(scan_import_test SOURCES unit/scan_import_test.c
                   LIBS mailroom_scan_lib LABELS unit)

# Helper of the scripts: checks a job directory with job_read (not a test itself).
add_executable(scan_jobcheck unit/scan_jobcheck.c)
target_link_libraries(scan_jobcheck PRIVATE mailroom_common)
set_target_properties(scan_jobcheck PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

mailroom_script_test(scan_sane integration/scan_sane.sh LABELS integration TIMEOUT 300)
mailroom_script_test(scan_import integration/scan_import.sh LABELS integration TIMEOUT 180)
