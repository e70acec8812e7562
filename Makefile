# kgctl — one binary, every command. `make test` is what CI runs.
GO       ?= go
BIN      ?= bin/kgctl
PKG      := github.com/kgctl/kgctl
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Evaluated once: image and image-test must agree even if a commit lands between them.
VERSION  := $(VERSION)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -s -w -X $(PKG)/pkg/cmd.Version=$(VERSION) -X $(PKG)/pkg/cmd.Commit=$(COMMIT) -X $(PKG)/pkg/cmd.Date=$(DATE)

.PHONY: build example test unit race vet fmt cross e2e e2e-addon e2e-multicluster e2e-upgrade e2e-failover policy-test crd-test fuzz fuzz-ci bench completions release-check snapshot clean image image-test image-push krew-test helm-test chart chart-push

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kgctl

# The main job on the shipped example cluster: the mesh as a graph and
# one node's WireGuard configuration, no cluster needed.
example: build
	$(BIN) graph -f testdata/example -o svg > mesh.svg
	@echo "mesh graph written to $(CURDIR)/mesh.svg (Graphviz's dot renders it; kgctl graph -f testdata/example prints the DOT)"
	$(BIN) showconf node aws-2 -f testdata/example

# Everything CI runs: formatting, vet, unit and golden tests, the race
# detector on the pure packages, a macOS build, and the end-to-end test
# when root.
test: fmt vet unit race cross fuzz-ci policy-test crd-test image-test krew-test helm-test e2e e2e-addon e2e-multicluster e2e-upgrade e2e-failover

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^hack/')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test ./...

race:
	$(GO) test -race ./pkg/topology/... ./pkg/peer/... ./pkg/wireguard/... ./pkg/translate/... ./pkg/source/... ./pkg/plan/... ./pkg/graph/... ./pkg/liveness/... ./pkg/health/... ./pkg/status/... ./pkg/agent ./pkg/agent/iptables ./pkg/link/... ./internal/heapdump

# The release builds for macOS too: the agent's Linux-only parts must stay
# behind build tags.
cross:
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/kgctl

e2e:
	./hack/e2e/run.sh

# Add-on mode over real flanneld (cached build, hack/build-flanneld.sh),
# and two clusters joined by kgctl link (root; they skip otherwise). On a
# shared machine run network-namespace tests one at a time:
# flock /tmp/kgctl-e2e.lock make e2e-addon.
e2e-addon:
	./hack/e2e/addon.sh
e2e-multicluster:
	./hack/e2e/multicluster.sh
# The upgrade from Kilo: a cluster as Kilo's agents leave it (annotations,
# key files at /var/lib/kilo/key, Kilo's CRD and Peers) taken over by
# agents with default flags; also Kilo's metrics, /graph and /health on a
# real API server (docs/migrating-from-kilo.md).
e2e-upgrade:
	./hack/e2e/upgrade.sh
# Leader failover: east's leader's WireGuard port cut FAILOVER_RUNS times
# (default 3), time to traffic through the new leader (limit 30 s), no
# move back and no loss when the link returns (docs/failover.md).
e2e-failover:
	./hack/e2e/failover.sh

# Least privilege on a real API server: the agent's token, bound to a Pod
# on one node, may publish that node's annotations and nothing else.
policy-test:
	./hack/agent-policy-test.sh

# Native Go fuzzing of every parser of untrusted input, each target for
# FUZZTIME in turn (make fuzz FUZZTIME=60s); make test runs each for 5,000
# inputs: a count, not a duration, because Go 1.26's fuzzer can fail a
# duration's end with "context deadline exceeded" on a loaded machine
# (go.dev/issue/75804, fixed in Go 1.27), as it did here.
FUZZTIME ?= 10s
FUZZ_TARGETS := ./pkg/wireguard:FuzzParseEndpoint ./pkg/wireguard:FuzzParseKey \
	./pkg/translate:FuzzNode ./pkg/translate:FuzzPeer ./pkg/source:FuzzDecode ./pkg/source:FuzzBlockYAML \
	./pkg/plan:FuzzJSONString ./pkg/plan/change:FuzzDecode ./pkg/plan/change:FuzzMergePatch ./pkg/agent/iptables:FuzzParseSave
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $${t#*:} in $${t%%:*}, -fuzztime $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) $${t%%:*} || exit 1; \
	done
fuzz-ci:
	$(MAKE) fuzz FUZZTIME=5000x

# The Peer CRD on a real API server: Kilo's Peers and ours under Kilo's
# schema and our CEL rules; an undecodable Peer in a live cluster.
crd-test:
	./hack/crd-test.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/topology/ ./pkg/plan/ ./pkg/peer/ ./pkg/agent/...

completions: build
	mkdir -p completions
	$(BIN) completion bash > completions/kgctl.bash
	$(BIN) completion zsh > completions/kgctl.zsh
	$(BIN) completion fish > completions/kgctl.fish

# The container image, assembled without a container engine
# (hack/image): per GOARCH the static kgctl and the iptables it execs,
# from Debian's packages (cached in ~/.cache/kgctl/debs; foreign
# architectures need `dpkg --add-architecture`), as an OCI layout in
# dist/image with both platforms, and dist/kgctl-image-amd64.tar for
# `docker load`. image-test unpacks it and runs what it ships.
IMAGE_ARCHS ?= amd64 arm64
IMAGE_REF   ?= ghcr.io/kgctl/kgctl:$(VERSION)
IMAGE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
image:
	@for a in $(IMAGE_ARCHS); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$a $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/image-build/$$a/kgctl ./cmd/kgctl && \
	  hack/image/fetch-debs.sh $$a dist/image-build/$$a/rootfs || exit 1; \
	done
	cd hack/image && $(GO) run . -in ../../dist/image-build -out ../../dist/image -arch $$(echo $(IMAGE_ARCHS) | tr ' ' ,) \
	  -version $(VERSION) -revision $$(git rev-parse HEAD 2>/dev/null) -source-date-epoch $(IMAGE_EPOCH) -tarball ../../dist/kgctl-image-amd64.tar $(IMAGE_FLAGS)
image-test: image
	cd hack/image && KGCTL_IMAGE=../../dist/image KGCTL_IMAGE_VERSION=$(VERSION) $(GO) test -count=1 ./...
# plugins/kilo.yaml rendered as krew-release-bot does, through krew's validator.
krew-test:
	cd hack/krew && $(GO) test -count=1 ./...
# charts/kgctl against every kustomize overlay (rendered with Helm's and
# kustomize's libraries, compared object by object), helm lint, the values
# schema, and the release's version hooks (hack/helm, its own module).
helm-test:
	cd hack/helm && $(GO) test -count=1 ./...
# charts/kgctl packaged as helm package does (dist/kgctl-VERSION.tgz);
# chart-push also pushes it to CHART_REPO as helm push does (the release,
# with registry credentials: helm registry login or docker login).
CHART_REPO ?= oci://ghcr.io/kgctl/charts
chart:
	cd hack/helm && $(GO) run ./cmd/chart -chart ../../charts/kgctl -out ../../dist
chart-push:
	cd hack/helm && $(GO) run ./cmd/chart -chart ../../charts/kgctl -out ../../dist -push $(CHART_REPO)
# Called by the release (.goreleaser.yaml) when registry credentials exist.
image-push:
	$(MAKE) image IMAGE_FLAGS='-push $(IMAGE_REF)'

# The release configuration, checked and built locally (no publishing).
# Not in make test: building goreleaser costs about 5 CPU-minutes on a
# clean machine (9 s once it is in the Go build cache); hack/helm tests the
# release's version hooks themselves.
GORELEASER ?= go run github.com/goreleaser/goreleaser/v2@v2.8.2
release-check:
	$(GORELEASER) check
snapshot:
	$(GORELEASER) release --snapshot --clean --skip=publish

clean:
	rm -rf bin dist
