#!/usr/bin/env bash
# Measures playbook simulation over a large store (issue 3: "well under a minute" for 1,000,000
# messages). Builds --release, fills an SQLite database once (later runs with the same sizes
# reuse it), then times `simulate_playbook` over the whole 30-day window with a 1-rule floor
# (SQLite read alone), the issue's 3-rule example and a generated RULES-rule playbook, and
# evaluation alone in memory for each.
# Usage: scripts/bench-simulate.sh [MESSAGES] [MESSAGES_PER_CASE] [RULES] [DATA_DIR]
# Default DATA_DIR: $CARGO_TARGET_DIR/bench-simulate, else target/bench-simulate (about 1.5 GB
# per million messages; delete it to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
PER_CASE=${2:-4}
RULES=${3:-200}
TARGET=${CARGO_TARGET_DIR:-target}
DIR=${4:-$TARGET/bench-simulate}
cargo build --release -q -p switchboard
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
"$TARGET/release/switchboard" bench simulate --messages "$N" --messages-per-case "$PER_CASE" --rules "$RULES" --data-dir "$DIR"
