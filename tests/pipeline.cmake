# Integration tests across all stages and crash tests.
mailroom_script_test(pipeline_letters integration/pipeline_letters.sh LABELS integration TIMEOUT 600)
mailroom_script_test(pipeline_sane integration/pipeline_sane.sh LABELS integration TIMEOUT 300)
mailroom_script_test(pipeline_corrupt integration/pipeline_corrupt.sh LABELS integration TIMEOUT 300)
mailroom_script_test(crash_stages integration/crash_stages.sh LABELS crash TIMEOUT 900)
mailroom_script_test(pipeline_corpus integration/pipeline_corpus.sh LABELS integration TIMEOUT 600)
# The benchmarks still run (a few pages; the figures come from make bench-*).
mailroom_script_test(bench_smoke integration/bench_smoke.sh LABELS bench TIMEOUT 600)
