#!/usr/bin/env python3
"""The same job done the way Python users do it today.

feedparser fetches and parses each feed, trafilatura extracts the text of
each item's HTML, sqlite3 stores one row per item (replaced by id). One feed
after another, as in the usual scripts. feedparser does not read JSON Feed,
so JSON feeds are fetched with urllib and read with json, as users do.

    python_pipeline.py URLS_FILE DB_PATH

Prints {"items": N} on success.
"""
import json
import sqlite3
import sys
import urllib.request

import feedparser
import trafilatura


def main():
    urls_file, db_path = sys.argv[1], sys.argv[2]
    with open(urls_file, encoding="utf-8") as fh:
        urls = [line.strip() for line in fh if line.strip()]
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, feed TEXT, url TEXT, title TEXT,"
        " published TEXT, body TEXT)"
    )
    items = 0
    for url in urls:
        rows = []
        if url.endswith(".json"):
            with urllib.request.urlopen(url) as resp:
                feed = json.load(resp)
            for item in feed.get("items", []):
                html = item.get("content_html") or item.get("content_text") or item.get("summary", "")
                body = trafilatura.extract(html) or ""
                rows.append((item.get("id") or item.get("url"), url, item.get("url"), item.get("title"),
                             item.get("date_published"), body))
        else:
            parsed = feedparser.parse(url)
            for entry in parsed.entries:
                if "content" in entry and entry.content:
                    html = entry.content[0].value
                else:
                    html = entry.get("summary", "")
                body = trafilatura.extract(html) or ""
                rows.append((entry.get("id") or entry.get("link"), url, entry.get("link"), entry.get("title"),
                             entry.get("published"), body))
        db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?)", rows)
        db.commit()
        items += len(rows)
    print(json.dumps({"items": items}))


if __name__ == "__main__":
    main()
