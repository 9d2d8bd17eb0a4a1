#!/usr/bin/env python3
"""Differential comparison of newswire's feed parsing with Python's feedparser.

    python3 -m venv /tmp/fp && /tmp/fp/bin/pip install feedparser
    cargo build -p newswire-fetcher --example parse_json
    /tmp/fp/bin/python crates/fetcher/tests/compare/compare.py [--bin PATH] [--verbose] [DIR_OR_FILE...]

Defaults: the fixtures in crates/fetcher/tests/fixtures and the parse_json example under
$CARGO_TARGET_DIR (or target/). Reports, over the documents feedparser reads (at least one entry):
the share where newswire finds items too and where the counts are equal; and over the items of
those documents (paired in order) the share of fields that agree, for id, link, title, published,
updated, authors, summary, content. Text is compared after stripping markup, decoding entities
and collapsing whitespace (feedparser sanitizes HTML; markup spelling is not disagreement); dates
in UTC to the second; a field both sides leave empty is not counted. feedparser copies an item's
content into its summary when there is none; newswire does not (a summary that is the whole
article is not a summary), so such copies count as empty
(where newswire has no summary). Author lists are compared without
repeats (feedparser lists a name twice when author and itunes:author both give it); script and
style elements are dropped with the markup."""
import calendar
import html
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

import feedparser

HERE = os.path.dirname(os.path.abspath(__file__))
FIELDS = ["id", "link", "title", "published", "updated", "authors", "summary", "content"]


def norm_text(s):
    if s is None:
        return None
    s = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", s)
    s = re.sub(r"<[^>]*>", " ", s)
    s = html.unescape(s)
    s = " ".join(s.split())
    return s or None


def fp_date(entry, key):
    t = dict.get(entry, key + "_parsed")
    if not t:
        return None
    return "%04d-%02d-%02dT%02d:%02d:%02d" % tuple(t[:6])


def our_date(s):
    if not s:
        return None
    return s.replace("Z", "")[:19]


def dedupe(names):
    out = []
    for n in names:
        if n not in out:
            out.append(n)
    return out


def fp_item(e, ours_has_summary):
    content = e.get("content")
    content_value = content[0].get("value") if content else None
    summary = dict.get(e, "summary")
    if summary is not None and summary == content_value and not ours_has_summary:
        summary = None
    return {
        "id": dict.get(e, "id") or None,
        "link": dict.get(e, "link") or None,
        "title": norm_text(dict.get(e, "title")),
        "published": fp_date(e, "published"),
        "updated": fp_date(e, "updated"),
        "authors": dedupe(a.get("name") for a in e.get("authors", []) if a.get("name")) or None,
        "summary": norm_text(summary),
        "content": norm_text(content_value),
    }


def our_item(i):
    return {
        "id": i.get("id"),
        "link": i.get("link"),
        "title": norm_text(i.get("title")),
        "published": our_date(i.get("published")),
        "updated": our_date(i.get("updated")),
        "authors": i.get("authors") or None,
        "summary": norm_text(i.get("summary")),
        "content": norm_text(i.get("content")),
    }


def main(argv):
    verbose = "--verbose" in argv
    argv = [a for a in argv if a != "--verbose"]
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(HERE, "..", "..", "..", "..", "target"))
    binary = os.path.join(target, "debug", "examples", "parse_json")
    if "--bin" in argv:
        binary = argv[argv.index("--bin") + 1]
        del argv[argv.index("--bin"):argv.index("--bin") + 2]
    paths = argv or [os.path.join(HERE, "..", "fixtures")]
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p))
        else:
            files.append(p)
    out = subprocess.run([binary] + files, capture_output=True, text=True, check=True).stdout
    ours = {}
    for line in out.splitlines():
        doc = json.loads(line)
        ours[doc["file"]] = doc
    docs_read = found = same_count = 0
    agree = defaultdict(int)
    total = defaultdict(int)
    by_class = defaultdict(lambda: [0, 0])
    for f in files:
        parsed = feedparser.parse(f)
        theirs = parsed.entries
        mine = ours.get(f, {}).get("items") or []
        name = os.path.basename(f)
        cls = name.split("_")[0]
        if theirs:
            docs_read += 1
            found += bool(mine)
            same_count += len(mine) == len(theirs)
            if not mine or len(mine) != len(theirs):
                print(f"ITEMS {name}: feedparser {len(theirs)}, newswire {len(mine)} {ours.get(f, {}).get('error', '')}")
        elif mine and verbose:
            print(f"EXTRA {name}: feedparser 0, newswire {len(mine)}")
        for a, b in zip(theirs, mine):
            fa, fb = fp_item(a, bool(b.get("summary"))), our_item(b)
            for k in FIELDS:
                if fa[k] is None and fb[k] is None:
                    continue
                total[k] += 1
                by_class[cls][1] += 1
                if fa[k] == fb[k]:
                    agree[k] += 1
                    by_class[cls][0] += 1
                elif verbose:
                    print(f"DIFF {name} {k}: feedparser={fa[k]!r} newswire={fb[k]!r}")
    all_agree, all_total = sum(agree.values()), sum(total.values())
    print(f"\ndocuments: {len(files)}; read by feedparser: {docs_read}")
    print(f"items found where feedparser finds items: {found}/{docs_read} = {100 * found / max(docs_read, 1):.1f}%")
    print(f"same item count: {same_count}/{docs_read} = {100 * same_count / max(docs_read, 1):.1f}%")
    print(f"field agreement: {all_agree}/{all_total} = {100 * all_agree / max(all_total, 1):.1f}%")
    for k in FIELDS:
        print(f"  {k:<10} {agree[k]:>4}/{total[k]:<4} {100 * agree[k] / max(total[k], 1):5.1f}%")
    print("by class (fixture name prefix):")
    for c, (a, t) in sorted(by_class.items()):
        print(f"  {c:<4} {a:>4}/{t:<4} {100 * a / max(t, 1):5.1f}%")


if __name__ == "__main__":
    main(sys.argv[1:])
