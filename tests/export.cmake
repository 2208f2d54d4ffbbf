# export.cmake - tests of the dms-export stage (mailroom-dms-export).
mailroom_unit_test(export_xdomea_test SOURCES unit/export_xdomea_test.c
                   LIBS mailroom_export LABELS unit)
target_compile_definitions(export_xdomea_test PRIVATE
                           MAILROOM_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
set_tests_properties(export_xdomea_test PROPERTIES SKIP_RETURN_CODE 77)

mailroom_script_test(export_pipeline integration/export_pipeline.sh
                     LABELS integration TIMEOUT 300)

# Helper for the integration script: builds a job directory with the real job API.
add_executable(export_mkjob unit/export_mkjob.c)
target_link_libraries(export_mkjob PRIVATE mailroom_common)
set_target_properties(export_mkjob PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
