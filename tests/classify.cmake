# classify: unit tests of the rules engine, extraction and routing on strings;
# integration tests that render German letters, OCR and classify them, run the
# corpus, and drive the stage on a temporary spool.
mailroom_unit_test(classify_rules_test
  SOURCES unit/classify_rules_test.c
  LIBS mailroom_classify
  LABELS unit)
target_compile_definitions(classify_rules_test PRIVATE
  MAILROOM_SOURCE_FALLBACK="${CMAKE_SOURCE_DIR}")

# the OCR engine wrapper on rendered pages: orientation (OSD), grain, the PDF's page
mailroom_unit_test(classify_ocr_test
  SOURCES unit/classify_ocr_test.c
  LIBS mailroom_classify
  LABELS unit)
target_compile_definitions(classify_ocr_test PRIVATE
  MAILROOM_SOURCE_FALLBACK="${CMAKE_SOURCE_DIR}")

mailroom_script_test(classify_letters integration/classify_letters.sh
  LABELS integration TIMEOUT 300)
mailroom_script_test(classify_corpus integration/classify_corpus.sh
  LABELS integration TIMEOUT 600)
mailroom_script_test(classify_spool integration/classify_spool.sh
  LABELS integration TIMEOUT 300)

mailroom_unit_test(classify_features_test
  SOURCES unit/classify_features_test.c
  LIBS mailroom_classify
  LABELS unit)
target_compile_definitions(classify_features_test PRIVATE
  MAILROOM_SOURCE_FALLBACK="${CMAKE_SOURCE_DIR}")

mailroom_script_test(classify_dup integration/classify_dup.sh
  LABELS integration TIMEOUT 300)

# the early type decision's first and second look (conf/classify.yaml early.rest)
mailroom_script_test(classify_early integration/classify_early.sh
  LABELS integration TIMEOUT 300)
# worker processes, the early type decision, limits per letter (conf/classify.yaml)
# "plain": the memory limit (RLIMIT_AS) cannot be tested under ASan; make test runs
# this in the plain build too
mailroom_script_test(classify_workers integration/classify_workers.sh
  LABELS "integration;plain" TIMEOUT 300)
