# tests/tools.cmake - tests of the `mailroom` operator command (tools/).
mailroom_unit_test(tools_logic SOURCES unit/tools_logic.c LIBS mailroom_tool LABELS unit)

# Helper for the integration script: builds job directories and journal events
# with the real job and journal APIs (not a test by itself).
add_executable(tools_mkjob unit/tools_mkjob.c)
target_link_libraries(tools_mkjob PRIVATE mailroom_common)
set_target_properties(tools_mkjob PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

mailroom_script_test(tools_cli integration/tools_cli.sh LABELS integration TIMEOUT 300)
