#!/usr/bin/env bash
# Evaluates the understanding models on data made by others (../shared/data, read-only):
# - BANKING77 intents: train.csv split 80/20 (every 5th row held out), `model train` on the 80%
#   (the default network, then the linear model), `model eval` on the 20%; plus the training
#   time on all 10,003 rows.
# - TweetEval sentiment (validation set): the shipped sentiment model (`builtin:sentiment`).
# Prints the JSON reports. Skips (exit 0) with a message when the data is absent.
#
# - TWCS: the shipped purpose and sentiment models on 400 customer tweets the project labelled
#   (scripts/eval/twcs-labels.csv, ids only; scripts/eval/README.md), per half. VADER on the
#   same tweets: scripts/vader_baseline.py.
# - A workspace's own sentiment model: `model train --kind sentiment` on the dev half of those
#   labels, scored on the test half and on the TweetEval validation tweets.
#
# Optional held-out sets that are not in ../shared/data (pass their paths; never commit them):
# - BANKING77_TEST: BANKING77's official test split (`text,category`, 3,080 rows); the model
#   trained on all of train.csv is scored on it.
# - SENTIMENT_EXTRA: space-separated JSONL files of {"text", "label"} tweets (negative,
#   neutral, positive), each scored with the shipped sentiment model (paths without spaces).
# Relative paths are read from the directory the script is started in.
set -euo pipefail
banking77_test=${BANKING77_TEST:+$(realpath "$BANKING77_TEST")}
sentiment_extra=()
for extra in ${SENTIMENT_EXTRA:-}; do
  sentiment_extra+=("$(realpath "$extra")")
done
cd "$(dirname "$0")/.."
data=../shared/data
if [ ! -f "$data/banking77/train.csv" ] || [ ! -f "$data/tweeteval-sentiment/val_text.txt" ] \
  || [ ! -f "$data/twcs/twcs_head5000.csv" ]; then
  echo "skipped: $data/banking77, $data/tweeteval-sentiment or $data/twcs is absent" >&2
  exit 0
fi
cargo build --release -q
bin=target/release/switchboard
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$data" "$work" <<'PY'
import csv, json, sys
data, work = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(f"{data}/banking77/train.csv", newline="")))
with open(f"{work}/train.csv", "w", newline="") as tr, open(f"{work}/test.csv", "w", newline="") as te:
    wt, we = csv.writer(tr), csv.writer(te)
    wt.writerow(["text", "category"]); we.writerow(["text", "category"])
    for i, r in enumerate(rows):
        (we if i % 5 == 4 else wt).writerow([r["text"], r["category"]])
names = ["negative", "neutral", "positive"]
texts = open(f"{data}/tweeteval-sentiment/val_text.txt").read().split("\n")
labels = open(f"{data}/tweeteval-sentiment/val_labels.txt").read().split()
with open(f"{work}/tweets.jsonl", "w") as out:
    for t, l in zip(texts, labels):
        out.write(json.dumps({"text": t, "label": names[int(l)]}) + "\n")
# The TWCS file has a bare \r inside one unquoted field (../shared/data/README.md).
raw = open(f"{data}/twcs/twcs_head5000.csv", encoding="utf-8", newline="").read()
tweets = csv.DictReader(raw.replace("\r\n", "\n").replace("\r", " ").splitlines(True))
text_of = {r["tweet_id"]: " ".join(r["text"].split()) for r in tweets}
for half in ("dev", "test"):
    for what in ("purpose", "sentiment"):
        with open(f"{work}/{what}-{half}.jsonl", "w") as out:
            for r in csv.DictReader(open("scripts/eval/twcs-labels.csv", newline="")):
                if r["split"] == half:
                    out.write(json.dumps({"text": text_of[r["tweet_id"]], "label": r[what]}) + "\n")
PY

# The default for this many examples is a network (256 hidden units); --hidden 0 is the
# linear model, for comparison.
for hidden in default 0; do
  flag=(); [ "$hidden" = default ] || flag=(--hidden "$hidden")
  echo "== BANKING77: train on 80% of train.csv (hidden: $hidden)"
  $bin model train --input "$work/train.csv" --label-column category --out "$work/intents.model" "${flag[@]}"
  echo "== BANKING77: eval on the held-out 20% (hidden: $hidden)"
  $bin model eval --model "$work/intents.model" --input "$work/test.csv" --label-column category \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({k: r[k] for k in ("examples","accuracy","macro_f1","predictions_per_second")}))'
done
echo "== BANKING77: train on all 10,003 rows"
$bin model train --input "$data/banking77/train.csv" --label-column category --out "$work/all.model"
echo "== TweetEval sentiment (validation), the shipped model"
$bin model eval --model builtin:sentiment --input "$work/tweets.jsonl" --format jsonl \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({k: r[k] for k in ("examples","accuracy","macro_f1","predictions_per_second")})); print(json.dumps({l: round(v["f1"],3) for l,v in r["per_label"].items()}))'
scores='import json,sys; r=json.load(sys.stdin); print(json.dumps({k: r[k] for k in ("examples","accuracy","macro_f1")}))'
for half in dev test; do
  echo "== sentiment, the shipped model, on the $half half of the project's TWCS labels"
  $bin model eval --model builtin:sentiment --input "$work/sentiment-$half.jsonl" --format jsonl \
    | python3 -c "$scores"
  echo "== purpose, the shipped model, on the $half half of the project's TWCS labels"
  $bin model eval --model builtin:purpose --input "$work/purpose-$half.jsonl" --format jsonl \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); c=r["calibration"]; print(json.dumps({k: r[k] for k in ("examples","accuracy","macro_f1")} | {"ece": round(c["expected_calibration_error"],3), "answered": round(c["answered"],3), "answered_accuracy": round(c["answered_accuracy"],3)})); print(json.dumps({l: round(v["f1"],3) for l,v in r["per_label"].items()}))'
done
echo "== sentiment, a workspace's own model trained on the dev half (model train --kind sentiment)"
$bin model train --kind sentiment --input "$work/sentiment-dev.jsonl" --format jsonl \
  --out "$work/workspace-sentiment.model" >/dev/null
for set in sentiment-test tweets; do
  echo "== sentiment, that model, on $set"
  $bin model eval --model "$work/workspace-sentiment.model" --input "$work/$set.jsonl" --format jsonl \
    | python3 -c "$scores"
done
if [ -n "$banking77_test" ]; then
  echo "== BANKING77: the model trained on all of train.csv, on $banking77_test"
  $bin model eval --model "$work/all.model" --input "$banking77_test" --label-column category \
    | python3 -c "$scores"
fi
for extra in ${sentiment_extra[@]+"${sentiment_extra[@]}"}; do
  echo "== sentiment, the shipped model, on $extra"
  $bin model eval --model builtin:sentiment --input "$extra" --format jsonl | python3 -c "$scores"
done
