#!/bin/sh
# Seed the fuzz corpora from the project's fixtures (nothing big is
# committed): fuzz/corpus/TARGET/ for each target in fuzz/fuzz_targets.
# Safe to re-run; existing corpus entries (what libFuzzer found) are kept.
#
#   fuzz/seed.sh            # from anywhere in the repository
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
corpus="$root/fuzz/corpus"
mkdir -p "$corpus/parse_feed" "$corpus/clean" "$corpus/extract" "$corpus/canon" "$corpus/config" "$corpus/tree"

# prefixed DIR BYTE FILE...: copy each file into DIR with a leading selector
# byte (the targets that take one read it first: 0 = the plainest options).
prefixed() {
    dir=$1 byte=$2
    shift 2
    for f in "$@"; do
        [ -f "$f" ] || continue
        { printf "\\$byte"; cat "$f"; } >"$dir/seed-$(basename "$f")"
    done
}
plain() {
    dir=$1
    shift
    for f in "$@"; do
        [ -f "$f" ] || continue
        cp "$f" "$dir/seed-$(basename "$f")"
    done
}

fx="$root/tests/fixtures"
# Feeds: the fixture feeds, the full-article feeds, and an HTML page (not a feed).
prefixed "$corpus/parse_feed" 000 "$fx"/feeds/* "$fx"/full-article/*.rss "$fx"/full-article/*.xml "$fx/pages/not-a-feed.html"
# The same feeds with a lying charset (selector 3: text/xml; charset=iso-8859-1).
for f in "$fx"/feeds/*; do
    { printf '\003'; cat "$f"; } >"$corpus/parse_feed/seed-latin1-$(basename "$f")"
done
# Cleaner: the cleaner corpus (HTML and text items) and the fixture pages.
plain "$corpus/clean" "$root"/crates/cleaner/tests/corpus/*.input.* "$fx"/pages/*.html
# Extractor: whole pages, with a page URL and the fuzz site rules (selector 3).
prefixed "$corpus/extract" 003 "$fx"/pages/*.html "$fx"/full-article/*.html
# Tree builder: the cleaner corpus, the fixture pages, and every input of
# the html5lib tree-construction suite when ../shared has it.
plain "$corpus/tree" "$root"/crates/cleaner/tests/corpus/*.input.html "$fx"/pages/*.html
suite="$root/../shared/corpus/html5lib-tests/tree-construction"
if [ -d "$suite" ]; then
    for f in "$suite"/*.dat; do
        awk -v dir="$corpus/tree" -v base="$(basename "$f" .dat)" '
            /^#data$/ { n++; out = dir "/seed-" base "-" n; printf "" > out; first = 1; inside = 1; next }
            /^#errors$/ { inside = 0; close(out); next }
            inside { if (!first) printf "\n" >> out; printf "%s", $0 >> out; first = 0 }
        ' "$f"
    done
fi
# URLs: every link in the fixtures, one per file, and some awkward forms.
i=0
grep -rhoE "(https?|file|ftp)://[^\"'<> )]+" "$fx" "$root/config" 2>/dev/null | sort -u | head -n 300 |
    while IFS= read -r u; do
        i=$((i + 1))
        printf '%s' "$u" >"$corpus/canon/seed-url-$i"
    done
for u in \
    'HTTPS://User:Secret@Example.COM:443/a/./b/../c?utm_source=rss&id=7&fbclid=x#top' \
    'http://[::ffff:127.0.0.1]:80/?a=%zz&utm_medium=%75tm' \
    'https://example.com/?token=abc&key=1&x=%20+y' \
    'https://xn--nxasmq6b.example/%E2%82%AC?q=caf%C3%A9' \
    'file:///srv/feeds/a.xml#frag' \
    'mailto:news@example.com?subject=hi'; do
    i=$((i + 1))
    printf '%s' "$u" >"$corpus/canon/seed-extra-$i"
done
# Config: the shipped configs.
plain "$corpus/config" "$root"/config/*.toml
for t in parse_feed clean extract canon config tree; do
    printf '%-10s %4d seeds\n' "$t" "$(ls "$corpus/$t" | wc -l)"
done
