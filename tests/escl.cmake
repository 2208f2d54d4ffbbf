# escl.cmake - SANE's real escl backend against mailroom-escl-emulator (escl/):
# scanimage and mailroom-scan capture page images over eSCL from a stack of
# files on 127.0.0.1, with ADF, duplex and injected faults. The scripts skip
# (77) when libsane's escl backend is not installed.

# Helper of the scripts: makes stack pages and compares delivered pixels with them
# (its own PNM/TIFF code, independent of the emulator's leptonica code).
add_executable(escl_pnmtool unit/escl_pnmtool.c)
target_link_libraries(escl_pnmtool PRIVATE PkgConfig::TIFF)
set_target_properties(escl_pnmtool PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
# The scripts exec the emulator from build/bin: build it with them.
add_dependencies(escl_pnmtool mailroom-escl-emulator)
# Helper of escl_faults.sh: a minimal SANE frontend that asks again after a batch.
add_executable(escl_sanebatch unit/escl_sanebatch.c)
target_link_libraries(escl_sanebatch PRIVATE PkgConfig::SANE)
set_target_properties(escl_sanebatch PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

mailroom_script_test(escl_sane integration/escl_sane.sh LABELS integration TIMEOUT 240)
mailroom_script_test(escl_faults integration/escl_faults.sh LABELS integration TIMEOUT 240)
