#!/usr/bin/env python3
"""First response time per company on the Kaggle "Customer Support on Twitter" (TWCS) sample.

This is an independent cross-check of `switchboard report kpis` on the TWCS sample: it reads
the CSV with the Python standard library alone and shares no code with Switchboard, so the two
can be compared number for number.

    python3 scripts/twcs_first_response.py [CSV] [--csv] [-q]

CSV defaults to ../shared/data/twcs/twcs_head5000.csv relative to the repository root (found
from this script's own location). The file is only read.

Columns: (unnamed index), tweet_id, author_id, inbound (True = a customer, False = the company,
whose author_id is its screen name), created_at ("Tue Oct 31 22:10:47 +0000 2017"), text,
response_tweet_id (comma-separated ids, may be blank), in_response_to_tweet_id (may be blank;
written by pandas as a float such as "3.0").

Definitions (Switchboard's):
- Conversation: a connected component of reply links. Each tweet is joined (union-find over
  ids) with the id in its in_response_to_tweet_id, even when that parent is not in the file, so
  two tweets answering the same missing parent share a conversation. response_tweet_id is not
  used for linking. A company's broadcast (a post that answers no customer's tweet and names
  nobody: it is addressed to no customer, so it is on no case) links nothing: the tweets answering it share a
  conversation with each other, not through it with the post it follows up on.
- Case: (conversation, company) for every company (inbound=False author) that posted in the
  conversation; the conversation's customer tweets belong to each of its cases.
- First response time of a case: created_at of that company's earliest tweet in the
  conversation at or after the conversation's earliest customer tweet, minus that customer
  tweet's created_at, in whole seconds. If the company has no such tweet the case is
  unanswered. A company tweet before any customer tweet is not a response. A case whose
  conversation has no customer tweet at all has no clock to start; it is neither answered nor
  unanswered here and is only counted in the diagnostics.
- Percentiles are nearest-rank: pK of n ascending values is the value at 1-based rank
  ceil(K/100 * n), so the median of an even count is the lower middle value.
- mean_s is the arithmetic mean of the answered cases' seconds, rounded to 1 decimal
  (Python round(), i.e. half-to-even on the binary value).
- Conversations in which no company posted have no response; they are counted (secondary) as
  "cases without a reply" under the company whose @handle begins the earliest customer tweet,
  if any. This count and other data diagnostics go to stderr (silence with -q).

Output: one JSON object per company per line, sorted by company name (code-point order):
{"company", "cases" (cases with a first response), "unanswered", "median_s", "p90_s",
"mean_s"}; the three statistics are null for a company with no answered case. With --csv, the
same rows as CSV with a header.

Reading note: one text field in the sample holds bare carriage returns without being quoted
(pandas quotes only around "\\n"), which a CSV reader treating "\\r" as a line end would split
into broken records. Records here end only at "\\n" (or "\\r\\n").
"""

import csv
import io
import json
import re
import sys
from datetime import datetime
from pathlib import Path

DEFAULT_CSV = Path(__file__).resolve().parent.parent / ".." / "shared" / "data" / "twcs" / "twcs_head5000.csv"
DATE_FORMAT = "%a %b %d %H:%M:%S %z %Y"
FIELDS = ["", "tweet_id", "author_id", "inbound", "created_at", "text", "response_tweet_id",
          "in_response_to_tweet_id"]
CR_STAND_IN = "\ue000"  # private-use code point standing in for a bare "\r" while parsing
HANDLE = re.compile(r"@(\w+)")
MENTION = re.compile(r"@\w")


def parse_id(raw):
    """A tweet id as an int: "3", "3.0" -> 3; blank -> None. Raises ValueError otherwise."""
    s = raw.strip()
    if not s:
        return None
    if re.fullmatch(r"\d+", s):
        return int(s)
    m = re.fullmatch(r"(\d+)\.0*", s)
    if m:
        return int(m.group(1))
    raise ValueError(f"not a tweet id: {raw!r}")


def read_rows(path):
    """The CSV's records as lists of strings; records end only at "\\n" (see the docstring)."""
    with open(path, newline="", encoding="utf-8") as f:
        data = f.read()
    data = data.replace("\r\n", "\n").replace("\r", CR_STAND_IN)
    reader = csv.reader(io.StringIO(data, newline=""))
    header = next(reader)
    if header != FIELDS:
        raise SystemExit(f"unexpected header in {path}: {header}")
    for record in reader:
        yield reader.line_num, [field.replace(CR_STAND_IN, "\r") for field in record]


class UnionFind:
    def __init__(self):
        self.parent = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def nearest_rank(sorted_values, k):
    n = len(sorted_values)
    rank = (k * n + 99) // 100  # ceil(k/100 * n) in integers
    return sorted_values[max(rank, 1) - 1]


def compute(path):
    diag = {
        "records": 0,
        "bad_records": [],        # (line, reason)
        "bad_dates": [],          # (line, tweet_id, created_at)
        "duplicate_ids": [],
    }
    tweets = {}  # id -> dict
    uf = UnionFind()
    for line, rec in read_rows(path):
        diag["records"] += 1
        if len(rec) != len(FIELDS):
            diag["bad_records"].append((line, f"{len(rec)} fields: {rec!r}"[:200]))
            continue
        _, tid_raw, author, inbound_raw, created_raw, text, resp_raw, irt_raw = rec
        try:
            tid = parse_id(tid_raw)
            irt = parse_id(irt_raw)
            responses = [parse_id(x) for x in resp_raw.split(",") if x.strip()]
        except ValueError as e:
            diag["bad_records"].append((line, str(e)))
            continue
        if inbound_raw not in ("True", "False"):
            diag["bad_records"].append((line, f"inbound {inbound_raw!r}"))
            continue
        try:
            created = int(datetime.strptime(created_raw.strip(), DATE_FORMAT).timestamp())
        except ValueError:
            diag["bad_dates"].append((line, tid, created_raw))
            created = None
        if tid in tweets:
            diag["duplicate_ids"].append(tid)
            continue
        tweets[tid] = {"id": tid, "author": author, "customer": inbound_raw == "True",
                       "created": created, "text": text, "irt": irt, "responses": responses,
                       "line": line}
    # A company's broadcast (a post answering no customer and naming nobody) is addressed to no
    # customer, so it is no message of any case. Tweets answering it still share a
    # conversation with each other (they answer the same post), but not through it with the
    # post it follows up on.
    def answers_a_customer(t):
        parent = tweets.get(t["irt"]) if t["irt"] is not None else None
        return parent is not None and parent["customer"]

    broadcasts = {t["id"] for t in tweets.values()
                  if not t["customer"] and not answers_a_customer(t)
                  and not MENTION.search(t["text"])}
    for t in tweets.values():
        if t["id"] in broadcasts:
            continue
        uf.find(t["id"])
        if t["irt"] in broadcasts:
            uf.union(t["id"], -t["irt"])  # the post answered, as a key of its own
        elif t["irt"] is not None:
            uf.union(t["id"], t["irt"])
    diag["broadcasts"] = len(broadcasts)

    conversations = {}
    for t in tweets.values():
        if t["id"] not in broadcasts:
            conversations.setdefault(uf.find(t["id"]), []).append(t)

    companies_all = {t["author"] for t in tweets.values() if not t["customer"]}
    by_lower = {c.lower(): c for c in companies_all}
    answered = {}    # company -> [seconds]
    unanswered = {}  # company -> count
    cases = []       # (company, root, first customer tweet, response tweet or None)
    diag.update({"conversations": len(conversations), "multi_company": [],
                 "company_only_cases": 0, "company_only_conversations": 0,
                 "company_before_customer_cases": 0, "company_tweet_before_first_customer": 0,
                 "no_reply": {}, "no_reply_unattributed": 0,
                 "no_reply_without_customer": 0})
    for root, conv in conversations.items():
        dated = [t for t in conv if t["created"] is not None]
        customer = sorted((t for t in dated if t["customer"]), key=lambda t: (t["created"], t["id"]))
        companies = sorted({t["author"] for t in conv if not t["customer"]})
        if len(companies) > 1:
            diag["multi_company"].append((root, companies))
        if not companies:
            if not customer:
                diag["no_reply_without_customer"] += 1
                continue
            m = HANDLE.match(customer[0]["text"].lstrip())
            handle = m.group(1) if m else None
            if handle is None or handle.isdigit():
                diag["no_reply_unattributed"] += 1
            else:
                name = by_lower.get(handle.lower(), handle)
                diag["no_reply"][name] = diag["no_reply"].get(name, 0) + 1
            continue
        if not customer:
            diag["company_only_conversations"] += 1
            diag["company_only_cases"] += len(companies)
            continue
        first = customer[0]
        for company in companies:
            own = [t for t in dated if t["author"] == company and not t["customer"]]
            after = [t for t in own if t["created"] >= first["created"]]
            if len(after) < len(own):
                diag["company_tweet_before_first_customer"] += 1
            if after:
                reply = min(after, key=lambda t: (t["created"], t["id"]))
                answered.setdefault(company, []).append(reply["created"] - first["created"])
                cases.append((company, root, first, reply))
            else:
                unanswered[company] = unanswered.get(company, 0) + 1
                if own:
                    diag["company_before_customer_cases"] += 1
                cases.append((company, root, first, None))

    # Replies dated before the tweet they answer (parent in the file).
    inverted = []
    for t in tweets.values():
        p = tweets.get(t["irt"]) if t["irt"] is not None else None
        if p and t["created"] is not None and p["created"] is not None and t["created"] < p["created"]:
            inverted.append((t, p))
    diag["inverted"] = inverted
    diag["missing_parents"] = len({t["irt"] for t in tweets.values()
                                   if t["irt"] is not None and t["irt"] not in tweets})
    # response_tweet_id entries present in the file that do not point back via in_response_to.
    diag["response_mismatch"] = [(t["id"], r) for t in tweets.values() for r in t["responses"]
                                 if r in tweets and tweets[r]["irt"] != t["id"]]

    shared_roots = {root for root, _ in diag["multi_company"]}
    shared = {}
    for company, root, _, _ in cases:
        if root in shared_roots:
            shared[company] = shared.get(company, 0) + 1
    rows = []
    for company in sorted(set(answered) | set(unanswered)):
        vals = sorted(answered.get(company, []))
        n = len(vals)
        rows.append({
            "company": company,
            "cases": n,
            "unanswered": unanswered.get(company, 0),
            "median_s": nearest_rank(vals, 50) if n else None,
            "p90_s": nearest_rank(vals, 90) if n else None,
            "mean_s": round(sum(vals) / n, 1) if n else None,
            # Cases in a conversation several companies posted in: each company's replay
            # channel holds only the customer tweets placed on it, so these may differ.
            "shared_cases": shared.get(company, 0),
        })
        if n and (sum(vals) * 10) % n * 2 == n:
            diag.setdefault("mean_ties", []).append(company)
    return rows, cases, diag


def print_diagnostics(rows, diag, out):
    p = lambda *a: print(*a, file=out)
    p(f"# records read: {diag['records']}; conversations: {diag['conversations']}")
    p(f"# malformed records: {len(diag['bad_records'])}")
    for line, why in diag["bad_records"]:
        p(f"#   line {line}: {why}")
    p(f"# created_at that failed to parse: {len(diag['bad_dates'])}")
    for line, tid, raw in diag["bad_dates"]:
        p(f"#   line {line} tweet {tid}: {raw!r}")
    p(f"# duplicate tweet ids: {len(diag['duplicate_ids'])}")
    p(f"# answered cases: {sum(r['cases'] for r in rows)}; "
      f"unanswered cases: {sum(r['unanswered'] for r in rows)} "
      f"(of which the company posted only before the first customer tweet: "
      f"{diag['company_before_customer_cases']})")
    p(f"# cases where the company also posted before the first customer tweet (not a response): "
      f"{diag['company_tweet_before_first_customer']}")
    p(f"# conversations with two or more companies: {len(diag['multi_company'])}")
    for root, comps in diag["multi_company"]:
        p(f"#   conversation of tweet {root}: {', '.join(comps)}")
    p(f"# conversations with company tweets but no customer tweet (not cases here): "
      f"{diag['company_only_conversations']} ({diag['company_only_cases']} company/conversation pairs)")
    p(f"# conversations with no company tweet (cases without a reply), by first @handle: "
      + (", ".join(f"{k}={v}" for k, v in sorted(diag["no_reply"].items())) or "none"))
    p(f"#   not attributed (no leading @handle or a numeric one): {diag['no_reply_unattributed']}")
    p(f"# parent ids referenced but not in the file: {diag['missing_parents']}")
    p(f"# replies dated before the tweet they answer: {len(diag['inverted'])}")
    for t, par in diag["inverted"][:20]:
        p(f"#   {t['id']} ({t['author']}, {t['created']}) answers {par['id']} "
          f"({par['author']}, {par['created']}): {par['created'] - t['created']} s earlier")
    p(f"# response_tweet_id links to a tweet in the file that answers another: "
      f"{len(diag['response_mismatch'])}")
    if diag.get("mean_ties"):
        p(f"# mean exactly at a .x5 tie (rounding-sensitive): {', '.join(diag['mean_ties'])}")


def main(argv):
    args = [a for a in argv if not a.startswith("-")]
    flags = [a for a in argv if a.startswith("-")]
    unknown = [f for f in flags if f not in ("--csv", "-q", "--quiet")]
    if unknown or len(args) > 1:
        raise SystemExit("usage: twcs_first_response.py [CSV] [--csv] [-q]")
    path = Path(args[0]) if args else DEFAULT_CSV.resolve()
    if not path.is_file():
        raise SystemExit(f"no such file: {path}")
    rows, _, diag = compute(path)
    if "--csv" in flags:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["company", "cases", "unanswered", "median_s", "p90_s", "mean_s",
                    "shared_cases"])
        for r in rows:
            w.writerow(["" if v is None else v for v in r.values()])
    else:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False))
    if not ({"-q", "--quiet"} & set(flags)):
        print_diagnostics(rows, diag, sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
