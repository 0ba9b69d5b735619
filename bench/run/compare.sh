#!/usr/bin/env bash
# Measures Caddy with the plugin of an earlier revision against this
# checkout's, in one run of bench/run (two rounds each, alternating):
#
#   bench/run/compare.sh <revision> [-c 1,16,64] [-d 8s]
#
# Both binaries are built the same way (go build ./cmd/caddy), the earlier
# one from a temporary git worktree that is removed afterwards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
rev="${1:?usage: bench/run/compare.sh <revision> [flags]}"
shift
tmp="$(mktemp -d)"
trap 'git worktree remove --force "$tmp/old" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git worktree add --detach "$tmp/old" "$rev" >/dev/null 2>&1
(cd "$tmp/old" && go build -o "$tmp/caddy-before" ./cmd/caddy)
go build -o "$tmp/caddy-after" ./cmd/caddy
go run ./bench/run -before "$tmp/caddy-before" -caddy "$tmp/caddy-after" "$@"
