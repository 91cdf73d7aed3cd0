#!/usr/bin/env python3
"""Scores language detection on sentences translated by people: the GNU gettext catalogs
(`/usr/share/locale/<locale>/LC_MESSAGES/*.mo`) that Debian's packages install, in which
volunteer translators wrote each program's messages in their language.

Usage: scripts/eval_language.py [BINARY] [--per N] [--errors LANG] [--langs CODE,CODE]

For each language Switchboard can name, up to N translated messages (default 300) are taken,
cleaned of what is not language (format specifiers such as `%s` or `{name}`, markup, keyboard
accelerators, options, paths), kept when they hold at least 15 letters, and given to
`switchboard analyze` (BINARY, default target/release/switchboard). Prints, per language, how
many were right, wrong (and as what) or left unknown, split into short (under 40 letters)
and long messages, then the totals as JSON on the last line.

Nothing is copied into the project; without the catalogs (a machine without the packages),
it says so and exits 0.
"""
import gettext
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict

# Switchboard's code -> the locale folders holding it.
LOCALES = {
    "ar": ["ar"], "bg": ["bg"], "bn": ["bn", "bn_IN"], "ca": ["ca"], "cs": ["cs"],
    "da": ["da"], "de": ["de"], "el": ["el"], "es": ["es"], "fa": ["fa"], "fi": ["fi"],
    "fr": ["fr"], "he": ["he"], "hi": ["hi"], "hr": ["hr"], "hu": ["hu"], "hy": ["hy"],
    "id": ["id"], "it": ["it"], "ja": ["ja"], "ka": ["ka"], "ko": ["ko"], "nl": ["nl"],
    "no": ["nb", "no"], "pl": ["pl"], "pt": ["pt", "pt_BR"], "ro": ["ro"], "ru": ["ru"],
    "sk": ["sk"], "sl": ["sl"], "sr": ["sr"], "sv": ["sv"], "th": ["th"], "tl": ["fil", "tl"],
    "tr": ["tr"], "uk": ["uk"], "ur": ["ur"], "vi": ["vi"], "zh": ["zh_CN", "zh_TW"],
    # Added in the fourteenth session.
    "af": ["af"], "am": ["am"], "be": ["be"], "et": ["et"], "gu": ["gu"], "km": ["km"],
    "kn": ["kn"], "lt": ["lt"], "lv": ["lv"], "mk": ["mk"], "ml": ["ml"], "mr": ["mr"],
    "my": ["my"], "ne": ["ne"], "or": ["or"], "pa": ["pa"], "si": ["si"], "ta": ["ta"],
    "te": ["te"],
}
SHORT = 40

SPECIFIER = re.compile(r"%(\d+\$)?[-+ #0]*\d*(\.\d+)?[hlLqjzt]*[a-zA-Z%]|\{[^}]*\}|\$\{[^}]*\}")
MARKUP = re.compile(r"<[^>]{1,40}>|&[a-z]+;")
PATHISH = re.compile(r"(^|\s)(--?[\w-]+|[\w.-]*/[\w./-]+|\w+\.\w{1,4}|\w+\(\))(?=\s|$|[,.:;])")


def clean(text):
    text = SPECIFIER.sub(" ", text)
    text = MARKUP.sub(" ", text)
    text = PATHISH.sub(" ", text)
    # Keyboard accelerators: `_Open`, `&Save`.
    text = re.sub(r"(?<=\s)[_&](?=\w)|^[_&](?=\w)", "", text)
    text = re.sub(r"\s+", " ", text).strip(" :")
    return text


def letters(text):
    return sum(c.isalpha() for c in text)


def messages(code):
    """The cleaned translations of one language, in a fixed order that mixes the programs."""
    seen = set()
    for loc in LOCALES[code]:
        for path in sorted(glob.glob(f"/usr/share/locale/{loc}/LC_MESSAGES/*.mo")):
            try:
                with open(path, "rb") as f:
                    catalog = gettext.GNUTranslations(f)._catalog
            except Exception:
                continue
            for key, value in catalog.items():
                msgid = key[0] if isinstance(key, tuple) else key
                if not msgid or not isinstance(value, str) or value == msgid:
                    continue
                text = clean(value)
                if letters(text) < 15 or text in seen:
                    continue
                # A translation left mostly in English is not the language's own text.
                if clean(msgid) == text:
                    continue
                seen.add(text)
                yield text


def main():
    args = sys.argv[1:]
    per = 300
    errors_of = None
    if "--per" in args:
        i = args.index("--per")
        per = int(args[i + 1])
        del args[i : i + 2]
    if "--errors" in args:
        i = args.index("--errors")
        errors_of = args[i + 1]
        del args[i : i + 2]
    if "--langs" in args:
        i = args.index("--langs")
        keep = args[i + 1].split(",")
        del args[i : i + 2]
        for code in list(LOCALES):
            if code not in keep:
                del LOCALES[code]
    binary = args[0] if args else "target/release/switchboard"
    if not glob.glob("/usr/share/locale/*/LC_MESSAGES/*.mo"):
        print("skipped: no gettext catalogs under /usr/share/locale", file=sys.stderr)
        return
    texts, truth = [], []
    for code in LOCALES:
        pool = sorted(messages(code), key=lambda t: hashlib.sha1(t.encode()).digest())
        for t in pool[:per]:
            texts.append(t)
            truth.append(code)
    out = subprocess.run(
        [binary, "analyze"],
        input="\n".join(texts) + "\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(out) == len(texts), (len(out), len(texts))
    by_lang = defaultdict(Counter)
    confused = defaultdict(Counter)
    for text, code, line in zip(texts, truth, out):
        got = json.loads(line)["language"]
        size = "short" if letters(text) < SHORT else "long"
        verdict = "right" if got == code else ("unknown" if got is None else "wrong")
        by_lang[code][verdict] += 1
        by_lang[code][size + "_" + verdict] += 1
        if verdict == "wrong":
            confused[code][got] += 1
        if errors_of == code and verdict != "right":
            print(f"  {code} -> {got}: {text}")
    total = Counter()
    print(f"{'lang':5} {'n':>4} {'right':>6} {'short':>6} {'long':>6} {'unknown':>7}  wrong as")
    for code in LOCALES:
        c = by_lang[code]
        n = c["right"] + c["wrong"] + c["unknown"]
        if n == 0:
            print(f"{code:5} {0:>4}  (no catalogs)")
            continue
        total.update(c)

        def share(prefix):
            k = sum(c[prefix + v] for v in ("right", "wrong", "unknown"))
            return f"{c[prefix + 'right'] / k:.3f}" if k else "  -  "

        worst = ", ".join(f"{g} {k}" for g, k in confused[code].most_common(3))
        print(
            f"{code:5} {n:>4} {c['right'] / n:>6.3f} {share('short_'):>6} {share('long_'):>6}"
            f" {c['unknown'] / n:>7.3f}  {worst}"
        )
    n = total["right"] + total["wrong"] + total["unknown"]
    summary = {
        "messages": n,
        "languages": sum(1 for c in LOCALES if by_lang[c]),
        "right": round(total["right"] / n, 4),
        "wrong": round(total["wrong"] / n, 4),
        "unknown": round(total["unknown"] / n, 4),
        "macro_right": round(
            sum(
                by_lang[c]["right"] / (by_lang[c]["right"] + by_lang[c]["wrong"] + by_lang[c]["unknown"])
                for c in LOCALES
                if by_lang[c]
            )
            / sum(1 for c in LOCALES if by_lang[c]),
            4,
        ),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
