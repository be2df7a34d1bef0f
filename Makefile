# Manifestor: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?=
# The commit `manifestor --version` and GET /version report: SwiftPM has no build-time hook, so
# the binary reads MANIFESTOR_COMMIT at run time ("unknown" without it).
MANIFESTOR_COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
export MANIFESTOR_COMMIT

.PHONY: setup setup-run build release run test bench bench-soak bench-render clean

# What running needs (libgit2); `setup` adds what the tests and benchmarks need.
setup-run:
	@bash scripts/setup.sh run

setup:
	@bash scripts/setup.sh test

build: setup-run
	$(SWIFT) build

release: setup-run
	$(SWIFT) build -c release

# Serves on 127.0.0.1:8080 against a local bare repository seeded from gitops-skeleton/
# (the embedded default), or against CONFIG when given: make run CONFIG=manifestor.yaml
run: build
	.build/debug/manifestor serve $(if $(CONFIG),--config $(CONFIG),)

test: setup build
	$(SWIFT) build --build-tests
	# Schemathesis's coverage phase keeps both cores busy for minutes: it runs on its own after
	# the rest, so that its load does not stretch the other tests' waits on a small machine.
	# DeadlineTests time how long a stalled remote holds a write: they run alone too, so that the
	# other suites' load does not stretch what they measure. ArgoCDLoopTests too: they check that
	# a push event follows a deploy within a second and count the stand-in's requests per poll.
	$(SWIFT) test --skip-build --skip FuzzTests --skip DeadlineTests --skip ArgoCDLoopTests
	$(SWIFT) test --skip-build --filter DeadlineTests
	$(SWIFT) test --skip-build --filter ArgoCDLoopTests
	$(SWIFT) test --skip-build --filter FuzzTests

# Manifestor vs the git CLI baseline and the bare-push floor against the real smart-HTTP server on
# loopback; prints a markdown table and writes bench/results.md (about 12 minutes; work folders
# in $TMPDIR); then the soak (bench/soak.md) and the Argo CD loop, deploy answer → Application →
# ready with and without notification (bench/argocd.md, about 4 minutes).
bench: setup release
	.venv/bin/python bench/run.py --manifestor .build/release/manifestor
	.venv/bin/python bench/soak.py --manifestor .build/release/manifestor
	.venv/bin/python bench/argocd.py --manifestor .build/release/manifestor

# Thousands of operations through `manifestor serve` at 1,000 and 10,000 previews: cache size and
# files, RSS and p50 as the server ages; writes bench/soak.md (about 20 minutes; --quick: 2).
bench-soak: setup release
	.venv/bin/python bench/soak.py --manifestor .build/release/manifestor

bench-render: release
	.build/release/manifestor bench-render

clean:
	rm -rf .build .venv
