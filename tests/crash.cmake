# Crash, full-disk and I/O-error tests (issue 8). The full campaign (>= 1,000
# kills) is `make crash-campaign`; ctest runs a small one with a fixed seed.
mailroom_script_test(crash_campaign_small integration/crash_campaign_small.sh LABELS crash TIMEOUT 600)
mailroom_script_test(enospc integration/enospc.sh LABELS crash TIMEOUT 300)
mailroom_script_test(enospc_eio integration/enospc_eio.sh LABELS crash TIMEOUT 600)
