#!/bin/bash
# crash_campaign_small.sh - the crash campaign of scripts/crash-campaign.sh in
# small: 60 kills with a fixed seed, classify crashed at one point per op, no
# sweeping past the sampled points. The full campaign: make crash-campaign.
export CRASH_KILLS=${CRASH_KILLS:-60} CRASH_SEED=${CRASH_SEED:-4242}
export CRASH_FAILS=${CRASH_FAILS:-12} CRASH_CLASSIFY_CAP=${CRASH_CLASSIFY_CAP:-1}
export CRASH_SWEEP_ON=${CRASH_SWEEP_ON:-0} CRASH_FULL_EVERY=${CRASH_FULL_EVERY:-5}
exec bash "${MAILROOM_SOURCE:?run through ctest}/scripts/crash-campaign.sh"
