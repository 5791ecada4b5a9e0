# unispeech-swift: build, test, demo. `make setup` installs the Debian packages the build needs.
SWIFT ?= swift
APT_PACKAGES := libjson-c-dev libzip-dev libopenblas-dev pkg-config libsndfile1-dev libsoxr-dev libdnnl-dev
BIN := .build/release/unispeech

.PHONY: setup build release test demo clean

setup:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

test: setup
	$(SWIFT) test

demo: release
	$(BIN) --help

clean:
	rm -rf .build

# Fuzzing: libFuzzer + AddressSanitizer harnesses in Fuzz/ (a separate package), each run for
# FUZZ_TIME seconds, one after another, on one core; new inputs and crashes go to Fuzz/.work/<name>/.
FUZZ_TIME ?= 600
FUZZ_HARNESSES := Safetensors
FUZZ_FLAGS := -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library

.PHONY: fuzz fuzz-build asan

fuzz-build: setup
	cd Fuzz && $(SWIFT) build $(FUZZ_FLAGS)

fuzz: fuzz-build
	@for name in $(FUZZ_HARNESSES); do \
		work=Fuzz/.work/$$name; mkdir -p $$work/corpus; \
		dict=""; [ -f Fuzz/$$name.dict ] && dict="-dict=Fuzz/$$name.dict"; \
		echo "fuzzing $$name for $(FUZZ_TIME) s"; \
		Fuzz/.build/release/Fuzz$$name -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
			-artifact_prefix=$$work/ $$dict $$work/corpus Fuzz/Corpus/$$name 2>$$work/log.txt || { tail -40 $$work/log.txt; exit 1; }; \
		grep -E '^(stat::|Done)' $$work/log.txt; \
	done

# The test suite under AddressSanitizer, in its own build directory.
asan: setup
	$(SWIFT) test --sanitize=address --scratch-path .build-asan
