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
