# Makefile - the two entry points of README.md, and the build around CMake.
#
#   make demo    install packages, build, run the whole pipeline on sample letters
#   make test    install packages, build, run ctest
#
# Everything real happens in CMake and scripts/; this file only chains them.

BUILD ?= build
ASAN_BUILD ?= build-asan
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build test test-plain demo clean pki fuzz crash-campaign bench-classify bench-pipeline bench-sign bench-export bench-scan bench-resign

all: build

deps:
	sh scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)

# The suite runs under ASan + UBSan (build-asan, -DMAILROOM_SANITIZE=ON); the plain
# build is compiled too (-O2 finds other warnings; -Werror in both) and runs the
# tests labelled "plain", which check what cannot be checked under ASan.
test: build
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAILROOM_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS) --timeout 1800
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) -L plain

# The suite in the plain build only (faster; what the demo runs).
test-plain: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) --timeout 900

demo: build
	sh scripts/demo.sh $(BUILD)

# Benchmarks (not part of make test): figures against the peer tools, same run.
bench-classify: build
	sh bench/classify/run.sh $(BUILD)

bench-pipeline: build
	sh scripts/deps.sh bench
	sh bench/pipeline/run.sh $(BUILD)

pki:
	sh scripts/pki.sh var

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

bench-sign: build
	sh bench/sign/run.sh $(BUILD)

bench-export: build
	sh bench/export/run.sh $(BUILD)

bench-scan: build
	sh bench/scan/run.sh $(BUILD)

bench-resign: build
	sh bench/resign/run.sh $(BUILD)

# libFuzzer targets (fuzz/README.md): FUZZ_SECONDS per target, FUZZ_TARGETS to
# choose, FUZZ_MERGE=1 to keep new inputs in fuzz/corpus/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
FUZZ_MERGE ?= 0
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" FUZZ_MERGE=$(FUZZ_MERGE) sh scripts/fuzz.sh

# The crash campaign (issue 8): every stage killed at every injection point and at
# random moments, >= CRASH_KILLS kills (default 1000; CRASH_SEED to repeat a run).
CRASH_KILLS ?= 1000
crash-campaign: build
	MAILROOM_SOURCE=$(CURDIR) MAILROOM_BIN=$(CURDIR)/$(BUILD)/bin CRASH_KILLS=$(CRASH_KILLS) \
		bash scripts/crash-campaign.sh
