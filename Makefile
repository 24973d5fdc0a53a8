# Convenience entry points; the build itself is CMake (see README.md).
#   make demo   install packages, build, run the appliance on its bundled data
#   make test   install packages, build with -Werror, run every test through ctest
#   make bench  the book benchmark (20 M messages), see docs/PERFORMANCE.md
#   make asan   build and test with AddressSanitizer + UndefinedBehaviorSanitizer
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: deps build demo test bench asan fuzz clean

deps:
	bash tools/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	bash tools/demo.sh $(BUILD)

test: deps
	cmake -S . -B $(BUILD)-test -DCMAKE_BUILD_TYPE=Release -DMGW_WERROR=ON
	cmake --build $(BUILD)-test -j$(JOBS)
	cd $(BUILD)-test && ctest --output-on-failure -j$(JOBS)

bench: deps
	bash tools/bench/run-book-bench.sh

asan: deps
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DMGW_SANITIZE=ON -DMGW_WERROR=ON
	cmake --build $(BUILD)-asan -j$(JOBS)
	cd $(BUILD)-asan && ctest --output-on-failure -j$(JOBS)

fuzz: deps
	bash tests/fuzz/run-fuzz.sh

clean:
	rm -rf $(BUILD) $(BUILD)-test $(BUILD)-asan
