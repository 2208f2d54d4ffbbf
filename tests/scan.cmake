# scan.cmake - tests of mailroom-scan: the TIFF writer, the import decoders, the
# batch splitter, page rotation, scan.yaml profiles (unit); SANE capture with the
# test backend, scan batches with faults, duplex and separation, the import folder
# (integration).
mailroom_unit_test(scan_tiff_test SOURCES unit/scan_tiff_test.c
                   LIBS mailroom_scan_lib LABELS unit)
mailroom_unit_test(scan_import_test SOURCES unit/scan_import_test.c
                   LIBS mailroom_scan_lib LABELS unit)
mailroom_unit_test(scan_separate_test SOURCES unit/scan_separate_test.c
                   LIBS mailroom_scan_lib LABELS unit)
mailroom_unit_test(scan_rotate_test SOURCES unit/scan_rotate_test.c
                   LIBS mailroom_scan_lib LABELS unit)
mailroom_unit_test(scan_profile_test SOURCES unit/scan_profile_test.c
                   LIBS mailroom_scan_lib LABELS unit)

# Helpers of the scripts (not tests themselves): a job directory read with
# job_read; the page digests of a scan.tiff recomputed as the sign stage does.
add_executable(scan_jobcheck unit/scan_jobcheck.c)
target_link_libraries(scan_jobcheck PRIVATE mailroom_common)
set_target_properties(scan_jobcheck PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
add_executable(scan_pagecheck unit/scan_pagecheck.c)
target_link_libraries(scan_pagecheck PRIVATE mailroom_common)
set_target_properties(scan_pagecheck PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

mailroom_script_test(scan_sane integration/scan_sane.sh LABELS integration TIMEOUT 300)
mailroom_script_test(scan_import integration/scan_import.sh LABELS integration TIMEOUT 180)
mailroom_script_test(scan_batch integration/scan_batch.sh LABELS integration TIMEOUT 300)
mailroom_script_test(scan_faults integration/scan_faults.sh LABELS integration TIMEOUT 300)
mailroom_script_test(scan_station integration/scan_station.sh LABELS integration TIMEOUT 300)
add_executable(mkpdfsig unit/mkpdfsig.c)
target_link_libraries(mkpdfsig PRIVATE OpenSSL::Crypto)
set_target_properties(mkpdfsig PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
