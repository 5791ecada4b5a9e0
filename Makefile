# unispeech-swift: build, test, demo. `make setup` installs the Debian packages the build needs.
SWIFT ?= swift
APT_PACKAGES := libjson-c-dev libzip-dev libopenblas-dev pkg-config libsndfile1-dev libsoxr-dev libdnnl-dev libssl-dev zlib1g-dev
BIN := .build/release/unispeech

.PHONY: setup build release test demo app docs clean

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

# The suite, built with warnings as errors; then the kernel, int8 and parity suites again with oneDNN held to AVX2
# (DNNL_MAX_CPU_ISA), so both dispatch paths are tested on any machine.
AVX2_SUITES := KernelsTests|GoldenModelTests|NativeGoldenTests|FamilyGoldenTests|ConcurrencyTests

test: setup
	$(SWIFT) test -Xswiftc -warnings-as-errors
	DNNL_MAX_CPU_ISA=AVX2 $(SWIFT) test -Xswiftc -warnings-as-errors --skip-build --filter '$(AVX2_SUITES)'

# The demo: digit models trained by scripts/train_demo.py on espeak-ng speech, held-out audio (unseen voice).
DEMO_CTC := examples/unispeech-digits-ctc
DEMO_CLASSIFIER := examples/unispeech-digits-classifier
DEMO_AUDIO := $(sort $(wildcard examples/audio/*.wav))
DEMO_WORDS := $(sort $(wildcard examples/audio/word-*.wav))
DEMO_OUT := .build/demo

# Each file is run (and verified) alone: several inputs to one `run` form a padded batch, and a group-norm model without an
# attention mask (like transformers) normalises the first conv layer over the padding too.
demo: release
	@mkdir -p $(DEMO_OUT)
	@echo "== the CTC model: transcripts of held-out audio (two files are 44.1 kHz stereo, resampled)"
	@for f in $(DEMO_AUDIO); do $(BIN) run $(DEMO_CTC) $$f || exit 1; done
	@echo "== the classifier: which digit was said"
	@for f in $(DEMO_WORDS); do $(BIN) run $(DEMO_CLASSIFIER) $$f || exit 1; done
	@echo "== convert to .unispeech (f32 and int8), verify int8 against the HF original"
	$(BIN) convert $(DEMO_CTC) -o $(DEMO_OUT)/digits-ctc-f32.unispeech --dtype f32
	$(BIN) convert $(DEMO_CTC) -o $(DEMO_OUT)/digits-ctc-int8.unispeech --dtype int8
	@for f in $(DEMO_AUDIO); do $(BIN) verify $(DEMO_OUT)/digits-ctc-int8.unispeech --reference $(DEMO_CTC) --audio $$f || exit 1; done
	@echo "== transcripts from the f32 file"
	@for f in $(DEMO_AUDIO); do $(BIN) run $(DEMO_OUT)/digits-ctc-f32.unispeech $$f || exit 1; done
	@echo "== transcripts from the int8 file"
	@for f in $(DEMO_AUDIO); do $(BIN) run $(DEMO_OUT)/digits-ctc-int8.unispeech $$f || exit 1; done
	@echo "== eval: the HF directory, the f32 and the int8 file side by side on the example audio (report: $(DEMO_OUT)/eval.html)"
	$(BIN) eval examples/eval-ctc.jsonl $(DEMO_CTC) $(DEMO_OUT)/digits-ctc-f32.unispeech $(DEMO_OUT)/digits-ctc-int8.unispeech --html $(DEMO_OUT)/eval.html
	$(BIN) eval examples/eval-classifier.jsonl $(DEMO_CLASSIFIER)
	@echo "== where int8 departs from f32, stage by stage (report: $(DEMO_OUT)/verify.html)"
	$(BIN) verify $(DEMO_OUT)/digits-ctc-int8.unispeech --reference $(DEMO_OUT)/digits-ctc-f32.unispeech --audio $(DEMO_AUDIO) \
		--per-layer --html $(DEMO_OUT)/verify.html
	@echo "== inspect the int8 file"
	$(BIN) inspect $(DEMO_OUT)/digits-ctc-int8.unispeech

# A separate package that depends on this one by path and uses only the SpeechModel facade (examples/swift-app).
app: setup
	$(SWIFT) run --package-path examples/swift-app TranscribeDigits

# The library's DocC documentation (Sources/UniSpeech/UniSpeech.docc), into .build/plugins/Swift-DocC/outputs.
docs: setup
	$(SWIFT) package generate-documentation --target UniSpeech

clean:
	rm -rf .build examples/swift-app/.build

# Fuzzing: libFuzzer + AddressSanitizer harnesses in Fuzz/ (a separate package), each run for
# FUZZ_TIME seconds, one after another, on one core; new inputs and crashes go to Fuzz/.work/<name>/.
# Fuzz/<name>.dict is the harness's dictionary, Fuzz/<name>.options its own libFuzzer flags.
# `make fuzz FUZZ_HARNESSES=Config` runs one.
FUZZ_TIME ?= 600
FUZZ_HARNESSES ?= Safetensors Unpickler TorchZip Native Config
FUZZ_FLAGS := -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -enable-testing

.PHONY: fuzz fuzz-build asan

# The harnesses' own objects are rebuilt every time: SwiftPM's incremental build can keep a harness compiled against
# an older layout of a library class after the library changed (the allocating initializer inlined into the harness
# then allocates too few bytes; AddressSanitizer reports a heap-buffer-overflow in the initializer).
fuzz-build: setup
	rm -rf Fuzz/.build/*/release/Fuzz*.build
	cd Fuzz && $(SWIFT) build $(FUZZ_FLAGS)

fuzz: fuzz-build
	@for name in $(FUZZ_HARNESSES); do \
		work=Fuzz/.work/$$name; mkdir -p $$work/corpus; \
		dict=""; [ -f Fuzz/$$name.dict ] && dict="-dict=Fuzz/$$name.dict"; \
		options=""; [ -f Fuzz/$$name.options ] && options=$$(cat Fuzz/$$name.options); \
		echo "fuzzing $$name for $(FUZZ_TIME) s"; \
		LSAN_OPTIONS=suppressions=$(CURDIR)/Fuzz/fuzz-lsan.supp:print_suppressions=0 SWIFT_BACKTRACE=enable=no Fuzz/.build/release/Fuzz$$name -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
			-artifact_prefix=$$work/ $$dict $$options $$work/corpus Fuzz/Corpus/$$name 2>$$work/log.txt || { tail -40 $$work/log.txt; exit 1; }; \
		grep -E '^(stat::|Done)' $$work/log.txt; \
	done

# The test suite under AddressSanitizer (and LeakSanitizer, minus the toolchain's own leaks listed in
# Fuzz/lsan.supp), in its own build directory.
asan: setup
	LSAN_OPTIONS=suppressions=$(CURDIR)/Fuzz/lsan.supp:print_suppressions=0 $(SWIFT) test --sanitize=address --scratch-path .build-asan
