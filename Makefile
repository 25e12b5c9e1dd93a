# Cairn: build, run and test.
#
#   make build            desktop app (Wails + WebKitGTK) -> bin/cairn
#   make run              build, then open the desktop app (no display: serve it for a browser)
#   make build-headless   no GUI libraries: CLI and `cairn serve` only -> bin/cairn
#   make build-windows    cross-built with MinGW-w64 -> bin/cairn.exe, bin/cairn-headless.exe
#   make test-windows     the Windows build's checks under Wine (docs/RELEASING.md)
#   make test             vet, lint, go test -race, headless and desktop build checks
#   make test-desktop     the real-window test alone (Xvfb, xdotool, screenshots)
#   make test-tools       Ollama and a registry for the tests -> bin/test-tools
#   make bench            benchmarks on one core -> docs/BENCHMARKS.md, docs/bench/
#   make bench-peers-1m   the vector peers at 1M memories, added to docs/BENCHMARKS.md
#   make fuzz             each fuzz target for FUZZTIME (default 60s)
#
# Every Go target depends on the frontend: main.go embeds frontend/dist, which
# is built by npm and not committed.

GO ?= go
TAGS = sqlite_fts5
DESKTOP_TAGS = desktop,production,webkit2_41,sqlite_fts5
BIN = bin/cairn

# Debian/Ubuntu packages `build` needs; test-only packages go in APT_TEST_PACKAGES
# (g++ and llama.cpp's JSON header, which Go module zips leave out: test-tools
# builds Ollama with cgo; chromium for the browser test in app/uitest).
APT_PACKAGES = gcc pkg-config libgtk-3-dev libwebkit2gtk-4.1-dev
APT_TEST_PACKAGES = g++ nlohmann-json3-dev curl chromium
# The egress test captures packets in a network namespace.
APT_TEST_PACKAGES += tcpdump iproute2 util-linux
# The desktop window test (Xvfb, xdotool, screenshots) and the keyring test
# (a private D-Bus with GNOME Keyring).
APT_TEST_PACKAGES += xvfb x11-utils xdotool imagemagick dbus gnome-keyring libsecret-tools
# memory's peer benchmark compiles sqlite-vec's cgo bindings, which include
# sqlite3.h (they link against the SQLite that mattn/go-sqlite3 bundles).
APT_TEST_PACKAGES += libsqlite3-dev

# The Windows build (build-windows, test-windows): MinGW-w64 cross-compiles
# the cgo parts (SQLite, the int8 kernel) and windres the icon and version
# resource; Wine runs the result for test-windows.
APT_WINDOWS_PACKAGES = gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64
APT_WINDOWS_TEST_PACKAGES = wine64
WINDOWS_ENV = GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc
# VERSION (make build-windows VERSION=1.2.3) goes into the binaries (cairn
# version; without it they say dev-COMMIT) and the .exe's version resource,
# which takes numbers only (0.0.0 without).
VERSION ?=
RC_VERSION = $(or $(firstword $(subst -, ,$(patsubst v%,%,$(VERSION)))),0.0.0)
VERSION_NUM = $(subst .,$(comma),$(RC_VERSION)),0
comma = ,
VERSION_LDFLAGS = $(if $(VERSION),-X github.com/cairnlabs/cairn/app/owner.version=$(VERSION))

export CGO_ENABLED := 1

# Go and npm parallelise on their own; keep the steps in order under -j too.
.NOTPARALLEL:
.DEFAULT_GOAL := build
.PHONY: build build-headless run frontend vet lint fmt-check test test-desktop bench fuzz clean \
	deps-apt deps-apt-test test-tools help bench-desktop bench-peers-1m build-windows test-windows

help:
	@sed -n '3,12p' Makefile | sed 's/^# \{0,1\}//'

# ---- system packages -------------------------------------------------------

# $(call apt_install,PACKAGES): install those of PACKAGES that are missing, with
# a single apt-get update; silent when nothing is missing.
define apt_install
	@missing=""; \
	if ! command -v dpkg-query >/dev/null 2>&1; then \
		echo "deps-apt: no dpkg-query (not Debian/Ubuntu?); make sure these are installed: $(1)"; \
		exit 0; \
	fi; \
	for p in $(1); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps-apt: installing$$missing"; \
		if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
		$$sudo apt-get update && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi
endef

deps-apt:
	$(call apt_install,$(APT_PACKAGES))

deps-apt-test:
	$(call apt_install,$(APT_PACKAGES) $(APT_TEST_PACKAGES))

# ---- test tools ------------------------------------------------------------

# Tests run a real Ollama and, for pulls, a distribution registry (see
# agent/ollamatest and ../shared/OLLAMA-IN-TESTS.md), built from the Go module
# proxy into TEST_TOOLS, where agent/ollamatest looks first. Each is built only
# when missing or not the pinned version (a few minutes, once); keep the
# versions in step with agent/ollamatest/binary.go.
TEST_TOOLS = bin/test-tools
OLLAMA_VERSION = v0.11.4
REGISTRY_VERSION = v3.1.2
# go install leaves Ollama's version at 0.0.0: stamp it.
OLLAMA_LDFLAGS = -X=github.com/ollama/ollama/version.Version=$(patsubst v%,%,$(OLLAMA_VERSION))

# $(call go_tool,NAME,MODULE,VERSION,PACKAGE,LDFLAGS): go install PACKAGE@VERSION
# into TEST_TOOLS unless TEST_TOOLS/NAME is MODULE at VERSION built with LDFLAGS.
define go_tool
	@info=$$($(GO) version -m $(TEST_TOOLS)/$(1) 2>/dev/null); \
	if printf '%s\n' "$$info" | grep -Eq '^\s+mod\s+$(2)\s+$(3)(\s|$$)' && \
		{ [ -z '$(5)' ] || printf '%s\n' "$$info" | grep -Eq '^\s+build\s+-ldflags=$(5)$$'; }; then \
		exit 0; \
	fi; \
	echo "test-tools: building $(1) $(3) into $(TEST_TOOLS) (a few minutes, once)"; \
	mkdir -p $(TEST_TOOLS) && \
	GOBIN='$(CURDIR)/$(TEST_TOOLS)' $(GO) install $(if $(5),-ldflags='$(5)') $(4)@$(3)
endef

test-tools: deps-apt-test
	$(call go_tool,ollama,github.com/ollama/ollama,$(OLLAMA_VERSION),github.com/ollama/ollama,$(OLLAMA_LDFLAGS))
	$(call go_tool,registry,github.com/distribution/distribution/v3,$(REGISTRY_VERSION),github.com/distribution/distribution/v3/cmd/registry,)

# ---- frontend --------------------------------------------------------------

FRONTEND_SRC := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	$(wildcard frontend/index.html frontend/package.json frontend/tsconfig*.json \
		frontend/vite.config.* frontend/svelte.config.*)
NODE_MODULES_STAMP = frontend/node_modules/.package-lock.json

frontend: frontend/dist/index.html

# npm ci only when node_modules is missing or older than the lock file.
$(NODE_MODULES_STAMP): frontend/package-lock.json frontend/package.json
	cd frontend && npm ci
	@touch $@

# Vite rewrites dist/index.html on every build, so it stands for all of dist.
frontend/dist/index.html: $(NODE_MODULES_STAMP) $(FRONTEND_SRC)
	cd frontend && npm run build

# ---- Go --------------------------------------------------------------------

build: deps-apt frontend
	$(GO) build -tags $(DESKTOP_TAGS) -o $(BIN) .

build-headless: frontend
	$(GO) build -tags $(TAGS) -o $(BIN) .

# bin/cairn.exe is the desktop app (Wails + WebView2; a GUI program, so no
# console window opens with it) and bin/cairn-headless.exe the command line
# and `serve`. The resource (.syso, linked by go build because it sits in
# the main package's folder) is a build output, as bin/ is.
build-windows: frontend
	$(call apt_install,$(APT_WINDOWS_PACKAGES))
	cd build/windows && x86_64-w64-mingw32-windres -O coff \
		'-DVERSION_NUM=$(VERSION_NUM)' '-DVERSION_STR=\"$(RC_VERSION)\"' \
		-o $(CURDIR)/rsrc_windows_amd64.syso cairn.rc
	$(WINDOWS_ENV) $(GO) build -tags desktop,production,$(TAGS) -ldflags '-H windowsgui $(VERSION_LDFLAGS)' -o bin/cairn.exe .
	$(WINDOWS_ENV) $(GO) build -tags $(TAGS) -ldflags '$(VERSION_LDFLAGS)' -o bin/cairn-headless.exe .

# The Windows build under Wine (.ci/wintest), beside the Linux headless
# build it exchanges vaults and bundles with. Wine 8.0 lacks
# bcryptprimitives.dll, which Go's runtime needs: .ci/wine builds a stand-in
# into the Wine prefix (WINEPREFIX, created once; slow the first time).
WINEPREFIX_DIR = $(CURDIR)/bin/wine
WINE = /usr/lib/wine/wine64
test-windows: build-windows
	$(call apt_install,$(APT_WINDOWS_TEST_PACKAGES) curl)
	$(GO) build -tags $(TAGS) -o bin/cairn-headless .
	@if [ ! -f $(WINEPREFIX_DIR)/system.reg ]; then \
		echo "test-windows: creating the Wine prefix $(WINEPREFIX_DIR) (once)"; \
		WINEPREFIX=$(WINEPREFIX_DIR) WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml=' $(WINE) wineboot -i; fi
	x86_64-w64-mingw32-gcc -shared -O2 -o $(WINEPREFIX_DIR)/drive_c/windows/system32/bcryptprimitives.dll \
		.ci/wine/bcryptprimitives.c .ci/wine/bcryptprimitives.def -ladvapi32
	WINEPREFIX=$(WINEPREFIX_DIR) WINEDEBUG=-all CAIRN_WINE=$(WINE) \
		CAIRN_WINDOWS_HEADLESS=$(CURDIR)/bin/cairn-headless.exe CAIRN_WINDOWS_DESKTOP=$(CURDIR)/bin/cairn.exe \
		CAIRN_LINUX_BIN=$(CURDIR)/bin/cairn-headless \
		$(GO) test -count 1 -timeout 20m -v ./.ci/wintest/; \
		rc=$$?; WINEPREFIX=$(WINEPREFIX_DIR) /usr/lib/wine/wineserver -k 2>/dev/null; exit $$rc

run: build
	./$(BIN) $(ARGS)

vet: frontend
	$(GO) vet -tags $(TAGS) ./... ./.ci/benchreport

lint: frontend fmt-check
	$(GO) tool staticcheck -tags $(TAGS) ./... ./.ci/benchreport

# gofmt over the Go files git knows of (tracked, or new and not ignored).
fmt-check:
	@files=$$(git ls-files --cached --others --exclude-standard -- '*.go' 2>/dev/null \
		|| find . -name '*.go' -not -path './frontend/node_modules/*'); \
	existing=""; for f in $$files; do [ -f "$$f" ] && existing="$$existing $$f"; done; \
	bad=$$(test -z "$$existing" || gofmt -l $$existing); \
	if [ -n "$$bad" ]; then echo "gofmt: these files need formatting (run gofmt -w):"; \
		echo "$$bad" | sed 's/^/  /'; exit 1; fi

# The desktop build comes first: app/desktoptest drives it in a real window.
test: deps-apt-test test-tools frontend vet lint build
	cd frontend && npm test
	CAIRN_DESKTOP_BIN=$(CURDIR)/$(BIN) $(GO) test -race -tags $(TAGS) -timeout 25m ./... ./.ci/benchreport
	@echo "headless build check: no GTK or WebKit linked"
	@$(GO) build -tags $(TAGS) -o bin/cairn-headless .
	@if ldd bin/cairn-headless | grep -Eq 'gtk|webkit'; then \
		echo "the headless build links GUI libraries:"; ldd bin/cairn-headless | grep -E 'gtk|webkit'; exit 1; fi
	@echo "desktop build check: $(GO) build -tags $(DESKTOP_TAGS) -o $(BIN) ."
	@$(GO) build -tags $(DESKTOP_TAGS) -o $(BIN) .
	@ldd $(BIN) | grep -q libwebkit2gtk-4.1 || { echo "the desktop build does not link WebKitGTK 4.1"; exit 1; }
	@echo "make test: OK (vet, staticcheck, gofmt, go test -race, headless and desktop builds)"

# Only the real-window test (Xvfb, xdotool) against the desktop build.
test-desktop: deps-apt-test test-tools build
	CAIRN_DESKTOP_BIN=$(CURDIR)/$(BIN) $(GO) test -tags $(TAGS) -count 1 -timeout 10m -v ./app/desktoptest/

# Each fuzz target of every package that has one, for FUZZTIME (the seeds
# alone run in make test).
FUZZTIME ?= 60s
FUZZ_PKGS = $(shell grep -rl --include='*_test.go' '^func Fuzz' . 2>/dev/null | grep -v node_modules | xargs -r -n1 dirname | sort -u)
fuzz: frontend
	@for pkg in $(FUZZ_PKGS); do \
		for t in $$($(GO) test -tags $(TAGS) -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzzing $$pkg $$t for $(FUZZTIME)"; \
			$(GO) test -tags $(TAGS) -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# Benchmarks: every package with a Benchmark function, on one core (-cpu 1),
# BENCH_COUNT runs each, then docs/BENCHMARKS.md and its plots (docs/bench/)
# from the output. The memory benchmarks build seeded vaults of 10k, 100k and
# 1M memories in a temp dir and remove it when they end (CAIRN_BENCH_SIZES,
# e.g. 10000,100000, picks others); the gym's Parquet export fills a gym of
# 1M items (CAIRN_BENCH_GYM_ITEMS picks another size). A measurement that is not a Go benchmark
# (the desktop app's memory, say) is a target named in BENCH_EXTRA that writes
# lines in `go test -bench` form to $(BENCH_DIR)/NAME.txt: the report reads
# every file there. BenchmarkPeers (memory/peerbench_test.go) measures
# sqlite-vec, chromem-go and exact floors beside Cairn at 10k and 100k; its
# 1M tier (about 10 GB of peers, built one at a time, and tens of minutes)
# is `make bench-peers-1m`, run after `make bench`: it adds its figures to
# $(BENCH_DIR) and writes the report again.
BENCH_DIR = bin/bench
BENCH_COUNT ?= 3
BENCH_EXTRA ?= bench-desktop
BENCH_PKGS = $(shell git ls-files --cached --others --exclude-standard -- '*_test.go' \
	| xargs -r grep -l '^func Benchmark' | xargs -r -n1 dirname | sort -u | sed 's|^|./|')
bench: frontend test-tools
	@rm -rf $(BENCH_DIR) && mkdir -p $(BENCH_DIR)
	@echo "bench: $(BENCH_COUNT) runs of the benchmarks in $(BENCH_PKGS)"
	bash -o pipefail -c "$(GO) test -run '^$$' -bench . -count $(BENCH_COUNT) -cpu 1 -timeout 60m -tags $(TAGS) $(BENCH_PKGS) | tee $(BENCH_DIR)/go.txt"
	@for t in $(BENCH_EXTRA); do $(MAKE) --no-print-directory $$t || exit 1; done
	$(GO) run ./.ci/benchreport -in "$$(ls $(BENCH_DIR)/*.txt | paste -sd, -)" -out docs/BENCHMARKS.md -plots docs/bench \
		-ollama "$${CAIRN_TEST_OLLAMA:-$(TEST_TOOLS)/ollama}"

bench-peers-1m: frontend
	@mkdir -p $(BENCH_DIR)
	bash -o pipefail -c "CAIRN_BENCH_SIZES=1000000 CAIRN_BENCH_PEER_SIZES=1000000 $(GO) test -run '^$$' -bench '^BenchmarkPeers$$' -count 1 -cpu 1 -timeout 120m -tags $(TAGS) ./memory | tee $(BENCH_DIR)/peers-1m.txt"
	$(GO) run ./.ci/benchreport -in "$$(ls $(BENCH_DIR)/*.txt | paste -sd, -)" -out docs/BENCHMARKS.md -plots docs/bench \
		-ollama "$${CAIRN_TEST_OLLAMA:-$(TEST_TOOLS)/ollama}"

# The desktop app's idle memory and start time beside an empty Wails app,
# both under Xvfb (.ci/desktopmem; about 4 minutes).
bench-desktop: deps-apt-test build
	@mkdir -p $(BENCH_DIR)
	$(GO) run -tags $(TAGS) ./.ci/desktopmem -app $(BIN) -runs 3 > $(BENCH_DIR)/desktop.txt

clean:
	rm -rf bin frontend/dist
