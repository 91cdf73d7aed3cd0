#!/usr/bin/env bash
# Answer retrieval on BANKING77 (../shared/data, read-only): the project's knowledge base of 77
# articles (examples/kb/bank.jsonl: a title and a short answer per intent, linked to it), the
# held-out 20% of train.csv (every 5th row) as questions; by words alone and combined with an
# intent model trained on the other 80%, as case suggestions combine them. Prints the JSON
# report. Skips (exit 0) when the data is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
data=../shared/data/banking77/train.csv
if [ ! -f "$data" ]; then
  echo "skipped: $data is absent" >&2
  exit 0
fi
cargo build --release -q
bin=target/release/switchboard
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$data" "$work" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
with open(f"{sys.argv[2]}/train.csv", "w", newline="") as tr:
    w = csv.writer(tr)
    w.writerow(["text", "category"])
    for i, r in enumerate(rows):
        if i % 5 != 4:
            w.writerow([r["text"], r["category"]])
PY
$bin model train --input "$work/train.csv" --label-column category --out "$work/intents.model" >/dev/null
$bin kb eval --kb examples/kb/bank.jsonl --input "$data" --label-column category --every 5 \
  --model "$work/intents.model"
