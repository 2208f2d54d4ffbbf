# export_receipts.cmake - issue 5: what the DMS answers and the independent checks.
#   export_receipt_test  the receipt parser on schema-valid receipts and hostile
#                        variants, the ProzessID index, one reply/error folder scan
#                        against a real journal (unit, needs ../shared/xsd)
#   export_receipts      receipts and rejections end to end: real packages from
#                        mailroom-sign + mailroom-dms-export, receipts validated with
#                        xmllint, dropped into the reply folders, `mailroom status`
#                        and `mailroom show`; exactly once across a crash
#   export_checks        the independent checks on real packages of the pipeline:
#                        unzip -t, xmllint --schema, mailroom verify and openssl cms
#                        -verify on every signature; evidence records; xdomea
#                        routing records
#   export_share         a full share (tmpfs) and a share that does not answer
#                        (fsfreeze on a loop-mounted ext4): the letter waits, the
#                        stage does not; root only (77 otherwise)
# Paths in SOURCES are relative to tests/ (this fragment is included there).
mailroom_unit_test(export_receipt_test SOURCES unit/export_receipt_test.c
                   LIBS mailroom_export LABELS unit)
target_compile_definitions(export_receipt_test PRIVATE
                           MAILROOM_SOURCE_DIR="${CMAKE_SOURCE_DIR}")

mailroom_script_test(export_receipts integration/export_receipts.sh
                     LABELS integration TIMEOUT 300)
mailroom_script_test(export_checks integration/export_checks.sh
                     LABELS integration TIMEOUT 300)
mailroom_script_test(export_share integration/export_share.sh
                     LABELS integration TIMEOUT 300)
