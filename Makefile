# The two commands of the README. Both install what is missing first.
BUILD_DIR ?= build
JOBS ?= 2

.PHONY: deps test-deps build run test bench clean format

deps:
	@./scripts/install-deps.sh

# What only the tests need: the ZooKeeper server (and its Java runtime) for
# the HA tier, QEMU and a guest kernel for the cgroup2 VM tier.
test-deps:
	@AGORA_INSTALL_TEST_DEPS=1 ./scripts/install-deps.sh

build: deps
	@BUILD_DIR=$(BUILD_DIR) BUILD_TYPE=Release ./scripts/build.sh

run: build
	@./scripts/run-local.sh $(BUILD_DIR)

test: test-deps build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

bench: build
	@./scripts/run-benchmarks.sh $(BUILD_DIR)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
