#!/usr/bin/env python3
"""The scikit-learn baseline for intents, on the same data as scripts/eval-understanding.sh.

BANKING77's official test split is not in ../shared/data. Without it, this trains the issue's
reference baseline (TF-IDF + linear SVM, 91.3% on that split) on the same 80% of train.csv
that `switchboard model train` gets (every 5th row held out) and scores it on the same 20%,
so the two numbers sit side by side. Given the official `test.csv` as a second argument, it
trains on all of train.csv and scores on that file instead, as eval-understanding.sh does
with BANKING77_TEST.

    python3 -m pip install scikit-learn
    python3 scripts/banking77_sklearn_baseline.py [TRAIN_CSV [OFFICIAL_TEST_CSV]]
"""
import csv
import sys
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline, make_union
from sklearn.svm import LinearSVC

path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/banking77/train.csv"
try:
    rows = list(csv.DictReader(open(path, newline="")))
except FileNotFoundError:
    print(f"skipped: {path} is absent", file=sys.stderr)
    sys.exit(0)
if len(sys.argv) > 2:
    train = rows
    try:
        test = list(csv.DictReader(open(sys.argv[2], newline="")))
    except FileNotFoundError:
        sys.exit(f"{sys.argv[2]} is not there: pass BANKING77's official test.csv, or nothing")
else:
    train = [r for i, r in enumerate(rows) if i % 5 != 4]
    test = [r for i, r in enumerate(rows) if i % 5 == 4]
x, y = [r["text"] for r in train], [r["category"] for r in train]
xt, yt = [r["text"] for r in test], [r["category"] for r in test]


def words():
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)


def characters():
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)


for name, features in [
    ("words 1-2", words()),
    ("words 1-2 + characters 2-5", make_union(words(), characters())),
]:
    for c in (0.5, 1.0):
        model = make_pipeline(features, LinearSVC(C=c, random_state=0))
        start = time.time()
        model.fit(x, y)
        fit = time.time() - start
        start = time.time()
        predicted = model.predict(xt)
        rate = len(xt) / (time.time() - start)
        print(
            f"{name:28} C={c}: accuracy {accuracy_score(yt, predicted):.4f}, "
            f"macro F1 {f1_score(yt, predicted, average='macro'):.4f}, "
            f"training {fit:.1f} s, {rate:,.0f} predictions/s"
        )
