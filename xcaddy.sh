#!/usr/bin/env bash
# Build Caddy with the vipps module, or run the demo shop.
#
#   ./xcaddy.sh build   build ./caddy (Caddy + this module) with xcaddy
#   ./xcaddy.sh run     build if needed, then serve the demo on http://localhost:8080
#   ./xcaddy.sh help    show this help
#
# Environment:
#   CADDY_VERSION       Caddy version to build (default v2.11.9)
#   XCADDY_VERSION      xcaddy version to install when it is missing (default v0.4.5)
#   VIPPS_ADMIN_TOKEN   merchant token for the demo (default demo-admin-token)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

CADDY_VERSION="${CADDY_VERSION:-v2.11.9}"
XCADDY_VERSION="${XCADDY_VERSION:-v0.4.5}"
MODULE="github.com/caddy-vipps/caddy-vipps"
# The module is built from this checkout, never fetched: xcaddy pins it to the
# zero pseudo-version, which the replace directive points at this directory,
# so no module proxy is asked about it.
LOCAL_VERSION="v0.0.0-00010101000000-000000000000"
OUTPUT="./caddy"
DEMO_CONFIG="examples/Caddyfile"
DEMO_URL="http://localhost:8080"

log() { printf 'xcaddy.sh: %s\n' "$*" >&2; }

usage() {
	cat <<EOF
Usage: ./xcaddy.sh <command>

Commands:
  build   Build ${OUTPUT} (Caddy ${CADDY_VERSION} with ${MODULE} from this checkout).
          Installs xcaddy ${XCADDY_VERSION} with 'go install' if it is missing.
  run     Build ${OUTPUT} if it is missing or older than the Go sources, then run the
          demo shop (${DEMO_CONFIG}) on ${DEMO_URL} with the embedded Vipps simulator.
          VIPPS_ADMIN_TOKEN defaults to 'demo-admin-token' when unset.
  help    Show this help.
EOF
}

# find_xcaddy prints the path of an xcaddy binary, installing it if needed.
find_xcaddy() {
	if command -v xcaddy >/dev/null 2>&1; then
		command -v xcaddy
		return
	fi
	local bindir
	bindir="$(go env GOBIN)"
	if [[ -z "$bindir" ]]; then
		bindir="$(go env GOPATH | cut -d: -f1)/bin"
	fi
	if [[ ! -x "$bindir/xcaddy" ]]; then
		log "installing xcaddy ${XCADDY_VERSION} into ${bindir}"
		go install "github.com/caddyserver/xcaddy/cmd/xcaddy@${XCADDY_VERSION}"
	fi
	printf '%s\n' "$bindir/xcaddy"
}

build() {
	command -v go >/dev/null 2>&1 || { log "go is not installed (Go 1.26 or later is needed)"; exit 1; }
	local xcaddy
	xcaddy="$(find_xcaddy)"
	log "building ${OUTPUT}: Caddy ${CADDY_VERSION} with ${MODULE}"
	"$xcaddy" build "${CADDY_VERSION}" --with "${MODULE}@${LOCAL_VERSION}=." --output "${OUTPUT}"
	log "built ${OUTPUT}"
}

# needs_build succeeds when ./caddy is missing or older than a Go source file,
# go.mod or go.sum.
needs_build() {
	[[ -x "$OUTPUT" ]] || return 0
	local newer
	newer="$(find . \( -path ./.git -o -path ./e2e/artifacts -o -path ./node_modules \) -prune -o \
		-type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$OUTPUT" -print -quit)"
	[[ -n "$newer" ]]
}

run() {
	if needs_build; then
		build
	fi
	if [[ -z "${VIPPS_ADMIN_TOKEN:-}" ]]; then
		export VIPPS_ADMIN_TOKEN="demo-admin-token"
		log "VIPPS_ADMIN_TOKEN was not set; using '${VIPPS_ADMIN_TOKEN}' for the demo"
	fi
	log "demo shop: ${DEMO_URL}/"
	exec "$OUTPUT" run --config "$DEMO_CONFIG" --adapter caddyfile
}

case "${1:-help}" in
build) build ;;
run) run ;;
help | -h | --help) usage ;;
*)
	log "unknown command '${1}'"
	usage >&2
	exit 2
	;;
esac
