# The two commands: `make test` and `make demo`. Each installs what is missing (Debian packages),
# configures, builds and runs. BUILD may be overridden: make test BUILD=/tmp/b
BUILD ?= build
JOBS ?= $(shell nproc)
CTEST_ARGS ?=
# Tests of one engine run beside tests of the other (tests/CMakeLists.txt keeps the rest alone).
TEST_JOBS ?= 2

.PHONY: all deps configure build test test-long demo bench clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS) -LE long $(CTEST_ARGS)

# Everything, the tests labelled `long` too (tests/CMakeLists.txt says which).
test-long: build
	@cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS) $(CTEST_ARGS)

demo: build
	@$(BUILD)/cmd/shardshift demo

bench: build
	@cmake --build $(BUILD) --target shardshift_bench -j $(JOBS)
	@bench/run.sh $(BUILD)
	@bench/reshard.sh $(BUILD)
	@bench/capture.sh $(BUILD)
	@bench/reshard_mariadb.sh $(BUILD)
	@bench/under_load.sh $(BUILD)
	@bench/catchup.sh $(BUILD)
	@bench/memory.sh $(BUILD)
	@bench/verify.sh $(BUILD)
	@bench/migration.sh $(BUILD)
	@bench/lint.sh $(BUILD)
	@bench/move_tables.sh $(BUILD)
	@bench/move_keys.sh $(BUILD)
	@bench/move_keys_mariadb.sh $(BUILD)
	@bench/split.sh $(BUILD)

clean:
	rm -rf $(BUILD)
