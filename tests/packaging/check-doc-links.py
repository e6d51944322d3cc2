#!/usr/bin/python3
"""check-doc-links.py SRCDIR: every file README.md and docs/*.md point at is
in the repository: markdown links and images (relative to the page), and
paths to .md files written as code (`dir/FILE.md`, relative to the page or
to SRCDIR). A link that leaves the tree works only on the machine it was
written on; one that names a missing file is broken for everyone."""
import glob
import os
import re
import sys

src = os.path.realpath(sys.argv[1])
pages = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md")))
bad = []
checked = 0
for page in pages:
    text = open(page, encoding="utf-8").read()
    here = os.path.dirname(page)
    targets = []
    for m in re.finditer(r"\]\(([^)\s]+)\)", text):
        t = m.group(1)
        if re.match(r"[a-z][a-z0-9+.-]*:", t) or t.startswith("#"):
            continue  # a URL or an anchor on the page
        targets.append((t.split("#")[0], [here]))
    for m in re.finditer(r"`([^`\s]*/[^`\s]*\.md)`", text):
        targets.append((m.group(1), [here, src]))
    for t, bases in targets:
        checked += 1
        found = None
        for base in bases:
            p = os.path.realpath(os.path.join(base, t))
            if os.path.exists(p):
                found = p
                break
        rel = os.path.relpath(page, src)
        if found is None:
            bad.append(f"{rel}: {t} does not exist")
        elif os.path.commonpath([found, src]) != src:
            bad.append(f"{rel}: {t} lies outside the repository ({found})")
for b in bad:
    print("not ok:", b)
print(f"{checked} links in {len(pages)} pages, {len(bad)} broken")
sys.exit(1 if bad else 0)
