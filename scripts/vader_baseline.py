#!/usr/bin/env python3
"""VADER, the sentiment target's reference, on the same tweets as scripts/eval-understanding.sh.

Scores VADER (standard thresholds: compound >= 0.05 positive, <= -0.05 negative) by macro F1
on TweetEval's validation tweets and on both halves of the project's TWCS sentiment labels
(scripts/eval/twcs-labels.csv), and on any extra JSONL files of {"text", "label"} given as
arguments (as SENTIMENT_EXTRA is). Skips with a message when ../shared/data is absent.

    python3 -m pip install vaderSentiment scikit-learn
    python3 scripts/vader_baseline.py [EXTRA.jsonl ...]
"""
import csv
import json
import os
import sys

extras = [os.path.abspath(p) for p in sys.argv[1:]]
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
data = "../shared/data"
if not os.path.isdir(f"{data}/tweeteval-sentiment") or not os.path.isdir(f"{data}/twcs"):
    print(f"skipped: {data}/tweeteval-sentiment or {data}/twcs is absent", file=sys.stderr)
    sys.exit(0)

from sklearn.metrics import f1_score  # noqa: E402
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

vader = SentimentIntensityAnalyzer()


def label(text):
    c = vader.polarity_scores(text)["compound"]
    return "positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral"


def report(name, pairs):
    gold = [g for _, g in pairs]
    predicted = [label(t) for t, _ in pairs]
    print(f"{name}: {len(pairs)} tweets, VADER macro F1 {f1_score(gold, predicted, average='macro'):.4f}")


names = ["negative", "neutral", "positive"]
texts = open(f"{data}/tweeteval-sentiment/val_text.txt").read().split("\n")
labels = open(f"{data}/tweeteval-sentiment/val_labels.txt").read().split()
report("TweetEval validation", [(t, names[int(l)]) for t, l in zip(texts, labels)])

# The TWCS file has a bare \r inside one unquoted field (../shared/data/README.md).
raw = open(f"{data}/twcs/twcs_head5000.csv", encoding="utf-8", newline="").read()
tweets = csv.DictReader(raw.replace("\r\n", "\n").replace("\r", " ").splitlines(True))
text_of = {r["tweet_id"]: " ".join(r["text"].split()) for r in tweets}
rows = list(csv.DictReader(open("scripts/eval/twcs-labels.csv", newline="")))
for half in ("dev", "test"):
    report(f"TWCS {half}", [(text_of[r["tweet_id"]], r["sentiment"]) for r in rows if r["split"] == half])

for path in extras:
    report(path, [(o["text"], o["label"]) for o in map(json.loads, open(path))])
