#!/usr/bin/env bash
# Runs bench/durability of an earlier revision and of this checkout side by
# side, alternating, so both are measured in one run on the same disk:
#
#   bench/durability/compare.sh <revision> [-c 1,16,64] [-d 5s]
#
# It builds the earlier revision's bench/durability from a temporary git
# worktree (removed afterwards) and prints both tables.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
rev="${1:?usage: bench/durability/compare.sh <revision> [flags]}"
shift
tmp="$(mktemp -d)"
trap 'git worktree remove --force "$tmp/old" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git worktree add --detach "$tmp/old" "$rev" >/dev/null 2>&1
(cd "$tmp/old" && go build -o "$tmp/before" ./bench/durability)
go build -o "$tmp/after" ./bench/durability
for round in 1 2; do
	echo "### round $round: $rev"
	"$tmp/before" "$@"
	echo "### round $round: this checkout"
	"$tmp/after" "$@"
done
