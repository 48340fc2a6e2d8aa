# Entry points for people and CI. Each target installs missing Debian packages first, so both
# commands in the README work on a fresh Debian 12 machine.
BUILD ?= build
JOBS ?= $(shell nproc)
CONFIG ?=
FUZZ_SECONDS ?= 30
PYTEST ?= /usr/bin/python3 -m pytest
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps test-deps build build-asan build-fuzz run install deb test unit-test integration-test sanitized-integration-test fuzz bench format clean

all: build

deps:
	@bash scripts/deps.sh

test-deps:
	@bash scripts/deps.sh --test

$(BUILD)/release/build.ninja:
	cmake -S . -B $(BUILD)/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/release/build.ninja
	cmake --build $(BUILD)/release -j $(JOBS) --target mailroom

build-tests: deps $(BUILD)/release/build.ninja
	cmake --build $(BUILD)/release -j $(JOBS)

# The unit tests and a mailroom binary, both under ASan+UBSan.
build-asan: deps
	cmake -S . -B $(BUILD)/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMAILROOM_SANITIZE=ON
	cmake --build $(BUILD)/asan -j $(JOBS) --target mailroom_tests mailroom

build-fuzz: deps
	CXX=clang++ cmake -S . -B $(BUILD)/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAILROOM_FUZZ=ON -DMAILROOM_TESTS=OFF
	cmake --build $(BUILD)/fuzz -j $(JOBS)

# Starts the server on its embedded defaults (or CONFIG=file.toml).
run: build
	./$(BUILD)/release/mailroom serve $(if $(CONFIG),--config $(CONFIG),)

# The binary, /etc/mailroom/mailroom.toml (an existing one is kept; the new one goes beside it as
# .new), the systemd unit and its sysusers.d/tmpfiles.d entries (cmake/Install.cmake). Installed
# for real (no DESTDIR, as root), the mailroom user and its dirs are created at once.
install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)/release --prefix $(PREFIX)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v systemd-sysusers >/dev/null; then \
	  systemd-sysusers $(PREFIX)/lib/sysusers.d/mailroom.conf && \
	  systemd-tmpfiles --create $(PREFIX)/lib/tmpfiles.d/mailroom.conf; \
	  if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	fi

# $(BUILD)/deb/mailroom_<version>_<arch>.deb from the release build (scripts/make-deb.sh).
deb: build
	bash scripts/make-deb.sh $(BUILD)/release $(BUILD)/deb

# The integration suites that also run against the sanitized server: everything a client or a
# crash can reach (sessions, listeners, IPv6, TLS, the queue, shutdown). Any ASan/UBSan report
# fails the test that caused it (tests/integration/conftest.py). RSS measurements mean nothing under ASan's
# shadow memory and quarantine: those tests run against the release binary only.
SANITIZED_SUITES = tests/integration/test_hostile_*.py tests/integration/test_queue_*.py \
	tests/integration/test_server_*.py tests/integration/test_clients.py \
	tests/integration/test_protocol_log.py tests/integration/test_tracking.py

# Every test: unit tests under ASan+UBSan, integration tests over real TCP against the release
# binary and (SANITIZED_SUITES) against the ASan+UBSan one, and each fuzz target for FUZZ_SECONDS.
test: test-deps build-asan build build-fuzz
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./$(BUILD)/asan/mailroom_tests --gtest_brief=1
	MAILROOM_BIN=$(CURDIR)/$(BUILD)/release/mailroom $(PYTEST) -q -p no:cacheprovider tests/integration
	MAILROOM_BIN=$(CURDIR)/$(BUILD)/asan/mailroom $(PYTEST) -q -p no:cacheprovider -m "not measures_rss" $(SANITIZED_SUITES)
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh $(BUILD)/fuzz

unit-test: build-asan
	./$(BUILD)/asan/mailroom_tests --gtest_brief=1

integration-test: test-deps build
	MAILROOM_BIN=$(CURDIR)/$(BUILD)/release/mailroom $(PYTEST) -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

sanitized-integration-test: test-deps build-asan
	MAILROOM_BIN=$(CURDIR)/$(BUILD)/asan/mailroom $(PYTEST) -q -p no:cacheprovider -m "not measures_rss" $(SANITIZED_SUITES) $(PYTEST_ARGS)

fuzz: build-fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh $(BUILD)/fuzz

bench: test-deps build
	/usr/bin/python3 bench/run.py --mailroom $(CURDIR)/$(BUILD)/release/mailroom

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
