#!/usr/bin/env bash
# newswire's article extractor and trafilatura (favor_precision), side by
# side on the extraction corpus, with the same scorer (docs/extraction.md,
# "Quality"):
#
#   benches/peers/extraction.sh [--jobs N] [--set SET]
#
# Needs the release binary (cargo build --release), ../shared/bin/score-extractor
# and ../shared/corpus/extraction. trafilatura runs once per page in one
# process (benches/peers/trafilatura_extract.py) into target/trafilatura-out/,
# kept between runs. Per-page results go to target/extraction-*.jsonl.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
shared="${SHARED:-$root/../shared}"
scorer="$shared/bin/score-extractor"
[ -x "$scorer" ] || { echo "extraction.sh: no $scorer" >&2; exit 2; }
[ -x "$root/target/release/newswire" ] || { echo "extraction.sh: build first: cargo build --release" >&2; exit 2; }
cd "$root"
echo "== newswire extract"
"$scorer" --cmd 'target/release/newswire extract {input}' --save target/extraction-newswire.jsonl "$@" | tail -n 6
pages="$(ls -td "${TMPDIR:-/tmp}"/score-extractor-*/pages | head -n 1)"
python="$("$root/benches/peers/setup.sh")"
"$python" "$root/benches/peers/trafilatura_extract.py" target/trafilatura-out "$pages"/*.html
echo "== trafilatura $("$python" -c 'import trafilatura; print(trafilatura.__version__)') (favor_precision)"
"$scorer" --cmd 'cat target/trafilatura-out/$(basename {input} .html).txt' --save target/extraction-trafilatura.jsonl "$@" |
    tail -n 6
