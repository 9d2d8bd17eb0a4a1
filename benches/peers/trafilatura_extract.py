#!/usr/bin/env python3
"""trafilatura's article text for a set of HTML files, for scoring beside
newswire's (docs/extraction.md, "Quality").

    trafilatura_extract.py OUT_DIR FILE...

writes OUT_DIR/<file stem>.txt for every FILE, with trafilatura 2.x's
extract(html bytes, favor_precision=True, include_comments=False), in one
process (importing trafilatura per page would take longer than the
extraction). Existing outputs are kept, so a second run is free. Score them
with the same scorer as newswire:

    score-extractor --cmd 'cat OUT_DIR/$(basename {input} .html).txt'
"""
import pathlib
import sys

import trafilatura


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[2:]:
        path = pathlib.Path(name)
        target = out / (path.stem + ".txt")
        if target.exists():
            continue
        try:
            text = trafilatura.extract(path.read_bytes(), favor_precision=True, include_comments=False) or ""
        except Exception as e:  # one bad page never stops the others
            print(f"{path}: {e}", file=sys.stderr)
            text = ""
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.rename(target)


if __name__ == "__main__":
    main()
