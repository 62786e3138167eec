# Keydesk: `make run` opens the app, `make test` runs every test. Both install
# the system packages they need first (scripts/install-deps.sh).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
export LANG := C.UTF-8
export LC_ALL := C.UTF-8

GO        ?= go
TAGS      := migrated_fynedo
CI_TAGS   := ci,$(TAGS)
# Short fuzzing runs inside `make test`: Target:package pairs.
FUZZ      ?= FuzzParseKey:./core FuzzMatchRoute:./core FuzzVerifyHandler:./server FuzzAuthHandler:./server FuzzFastDecode:./server FuzzDecodeKey:./seal FuzzOpen:./envelope FuzzAddRemove:./internal/winpath
# FUZZTIME is a count of executions, not a duration: with a duration, Go 1.26's
# fuzzing coordinator can fail a target with a bare "context deadline
# exceeded" when the time runs out on a loaded machine (golang/go#75804,
# fixed in Go 1.27); a count has no deadline to race. 40000 runs take 2-10 s
# a target here.
FUZZTIME  ?= 40000x
BENCHTIME ?= 1s
# Packages whose tests use the OS keyring (all but the window, whose tests use
# an in-memory keyring); the others come from the test cache in test-keyring.
KEYRING_PKGS ?= $$($(GO) list ./... | grep -v '/gui$$')
# The real-window smoke test under Xvfb (real GLFW driver, cgo).
# Its files carry the `smoke` build tag, so no other test run builds them.
SMOKE_PKGS ?= ./e2e/...
SMOKE_TAGS ?= smoke,$(TAGS)
SMOKE_RUN  ?= Smoke
# The shared-store tests, run on a throw-away PostgreSQL cluster.
PG_PKGS ?= ./pgstore/... ./replica/... ./e2e/shared/...
# The window's shared-store tests, in ./gui (the rest of that package runs
# in test-headless and test-race: too slow to run again here).
PG_GUI_RUN ?= ^Test(SharedWindow|SwitchBetween)
# make perf-gui: the window with this many keys.
PERF_KEYS ?= 100000
# make perf-gui PERF_FLAGS=-cpuprofile=/tmp/start.prof: also profile the start.
PERF_FLAGS ?=
DIST      ?= dist

.PHONY: all run deps test fmt-check vet lint test-headless test-dates test-race test-keyring test-pg fuzz test-smoke screenshot perf-gui bench package clean icon man \
	windows test-windows test-darwin linux-packages test-linux-packages

all: test

## run: install what is needed, then build and open the app.
run: deps
	$(GO) run -tags $(TAGS) .

## deps: system packages (Debian/Ubuntu: apt-get, when missing) and Go modules.
deps:
	@command -v $(GO) >/dev/null || { echo "Go 1.26 or newer is needed: https://go.dev/dl/" >&2; exit 1; }
	scripts/install-deps.sh
	$(GO) mod download

## test: everything — formatting, vet, headless tests (also as if on a later
## day), race detector, keyring
## and end-to-end tests on a real Secret Service, the shared store on a real
## PostgreSQL, fuzzing, Xvfb smoke test, the macOS build, the Linux packages,
## the Windows installer under Wine.
test: deps fmt-check vet lint test-headless test-dates test-race test-keyring test-pg fuzz test-smoke test-darwin test-linux-packages test-windows
	@echo "make test: all passed."

fmt-check:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt: these files are not formatted (run gofmt -w):" >&2; echo "$$out" >&2; exit 1; fi

vet:
	$(GO) vet -tags $(CI_TAGS) ./...

## lint: staticcheck (honnef.co/go/tools, a tool in go.mod).
lint:
	CGO_ENABLED=0 $(GO) tool staticcheck -tags $(CI_TAGS) ./...

## test-headless: every package, Fyne on its test driver, no cgo.
test-headless:
	CGO_ENABLED=0 $(GO) test -tags $(CI_TAGS) ./...

## test-dates: the headless tests again as if today were 400 days later
## (scripts/test-dates.sh moves the clock of a copy of the Go toolchain): a
## test that mixes a fixed date with the real clock fails here today rather
## than on some later day.
test-dates:
	GO=$(GO) scripts/test-dates.sh ./...

## test-race: the race detector (needs cgo; the ci tag keeps Fyne headless).
test-race:
	CGO_ENABLED=1 $(GO) test -race -timeout 30m -tags $(CI_TAGS) ./...

## test-keyring: tests that use the OS keyring (storage, workspace, the CLI
## end-to-end tests) against a real gnome-keyring Secret Service in a private
## D-Bus session.
test-keyring:
	CGO_ENABLED=0 scripts/with-keyring.sh $(GO) test -timeout 30m -tags $(CI_TAGS) $(KEYRING_PKGS)

## test-pg: the shared-store tests ($(PG_PKGS), and the window's in ./gui) on a real PostgreSQL, with
## the race detector: scripts/pg-cluster.sh starts a throw-away cluster on
## loopback for the run and removes it afterwards (also on failure), inside a
## private Secret Service (the admin processes of ./e2e/shared keep the
## store's signing material there). Without it (KEYDESK_TEST_PG_URL unset)
## those tests skip.
test-pg:
	CGO_ENABLED=1 scripts/pg-cluster.sh run scripts/with-keyring.sh $(GO) test -race -count=1 -tags $(CI_TAGS) $(PG_PKGS)
	CGO_ENABLED=1 scripts/pg-cluster.sh run $(GO) test -race -count=1 -tags $(CI_TAGS) -run '$(PG_GUI_RUN)' ./gui/

## fuzz: a short run of each fuzz target in $(FUZZ).
fuzz:
	@for f in $(FUZZ); do \
		name="$${f%%:*}"; pkg="$${f#*:}"; \
		if ! grep -qs "func $$name(" $$pkg/*_test.go; then echo "fuzz: $$name is not in $$pkg (moved? update FUZZ)" >&2; exit 1; fi; \
		echo "fuzz: $$name in $$pkg (-fuzztime=$(FUZZTIME))"; \
		CGO_ENABLED=0 $(GO) test -tags $(CI_TAGS) -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

## test-smoke: start the real window under Xvfb and drive it (the GUI's
## end-to-end smoke test). The first cgo build of Fyne's GLFW driver takes a
## few minutes.
test-smoke:
	@if [ -z "$$($(GO) list -tags $(SMOKE_TAGS) $(SMOKE_PKGS) 2>/dev/null)" ]; then echo "test-smoke: no package in $(SMOKE_PKGS) yet, skipped"; exit 0; fi; \
	command -v xvfb-run >/dev/null || { echo "test-smoke: xvfb-run is missing; run scripts/install-deps.sh" >&2; exit 1; }; \
	CGO_ENABLED=1 xvfb-run -a -s "-screen 0 1280x800x24" $(GO) test -tags $(SMOKE_TAGS) -count=1 -run '$(SMOKE_RUN)' -v $(SMOKE_PKGS)

## screenshot: the smoke test, saving docs/screenshot.png (the README's).
screenshot:
	KEYDESK_UPDATE_SCREENSHOT=1 $(MAKE) test-smoke

## perf-gui: the window's performance targets (the table within 1 s of start,
## a search keystroke refiltered within 30 ms, at most 200 MB resident), with
## $(PERF_KEYS) keys under Xvfb and a private Secret Service: start-to-table
## time, refilter time per keystroke (in the real window, then BenchmarkFilter
## on the table model) and resident memory, also over a Fyne hello window
## (cmd/perfhello) run in the same Xvfb.
perf-gui: deps
	@mkdir -p $(DIST)
	CGO_ENABLED=1 $(GO) build -tags $(TAGS) -o $(DIST)/keydesk-perf .
	CGO_ENABLED=1 $(GO) build -tags $(TAGS) -o $(DIST)/keydesk-hello ./cmd/perfhello
	CGO_ENABLED=1 scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1280x800x24" \
		$(GO) run -tags $(TAGS) ./cmd/perfgui -bin $(DIST)/keydesk-perf -hello $(DIST)/keydesk-hello -keys $(PERF_KEYS) $(PERF_FLAGS)
	CGO_ENABLED=0 $(GO) test -tags $(CI_TAGS) -run '^$$' -bench 'BenchmarkFilter$$' ./gui/

## bench: the benchmarks (those of the shared store on a throw-away
## PostgreSQL cluster), then the ratios they report.
bench:
	@out="$$(mktemp)"; trap 'rm -f "$$out"' EXIT; \
	CGO_ENABLED=0 scripts/pg-cluster.sh run $(GO) test -tags $(CI_TAGS) -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./... | tee "$$out"; \
	echo; echo "Reported ratios and targets:"; \
	awk '/^Benchmark/ { line=""; for (i = 3; i < NF; i += 2) { u=$$(i+1); if (u != "ns/op" && u != "B/op" && u != "allocs/op" && u != "MB/s") line = line sprintf("  %s %s", $$i, u) } if (line != "") printf "  %-50s%s\n", $$1, line }' "$$out"

## package: the Linux installer (dist/Keydesk.tar.xz) with `fyne package`;
## on a Mac, dist/Keydesk.app.
package: deps
	@mkdir -p $(DIST); cp FyneApp.toml "$(DIST)/.FyneApp.toml.orig"; \
	trap 'cp "$(DIST)/.FyneApp.toml.orig" FyneApp.toml; rm -f "$(DIST)/.FyneApp.toml.orig"' EXIT; \
	if [ "$$(uname -s)" = Darwin ]; then \
		$(GO) tool fyne package -os darwin -tags $(TAGS) --release; \
		rm -rf $(DIST)/Keydesk.app; mv -f Keydesk.app $(DIST)/; \
		echo "package: $(DIST)/Keydesk.app"; exit 0; \
	fi; \
	$(GO) tool fyne package -os linux -tags $(TAGS) --release; \
	mv -f Keydesk.tar.xz $(DIST)/; \
	tar -tJf $(DIST)/Keydesk.tar.xz | grep -q 'usr/local/bin/keydesk$$\|usr/bin/keydesk$$'; \
	echo "package: $(DIST)/Keydesk.tar.xz"

## man: the command line's man pages, one per command, in $(DIST)/man
## (generated from the cobra command tree by cmd/mangen).
man:
	$(GO) run -tags $(TAGS) ./cmd/mangen -o $(DIST)/man

## windows: the Windows build, made on Linux: dist/windows/Keydesk.exe (the
## window, by fyne package through mingw-w64; icon, version and manifest
## checked), dist/windows/keydesk.com (its console copy: the command line)
## and the per-user NSIS installer dist/Keydesk-VERSION-setup.exe.
windows: deps
	DIST=$(DIST) GO=$(GO) scripts/build-windows.sh

## test-windows: under Wine, in a throw-away prefix: install silently, run
## the command-line suite on the installed keydesk.com, open the installed
## window under Xvfb (a non-blank screenshot), uninstall.
test-windows: windows
	KEYDESK_WINE_SCREENSHOT=$(abspath $(DIST))/windows/wine-window.png CGO_ENABLED=0 \
		xvfb-run -a -s "-screen 0 1280x800x24" $(GO) test -tags wine -count=1 -timeout 20m -v ./e2e/windows/

## test-darwin: every package that does not need Fyne's driver builds and
## vets for darwin/arm64 and darwin/amd64.
test-darwin:
	GO=$(GO) scripts/test-darwin.sh

## linux-packages: dist/keydesk_*.deb and .rpm with nfpm (a tool in go.mod).
linux-packages: deps
	DIST=$(DIST) GO=$(GO) scripts/build-linux-packages.sh

## test-linux-packages: install the .deb with dpkg -i, run the installed
## keydesk, remove it.
test-linux-packages: linux-packages
	DIST=$(DIST) scripts/test-linux-packages.sh

## icon: redraw assets/icon.png.
icon:
	$(GO) run ./cmd/icongen -o assets/icon.png

clean:
	rm -rf $(DIST) keydesk Keydesk.tar.xz
