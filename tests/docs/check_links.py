"""Every relative link of the project's Markdown files resolves.

    python3 tests/docs/check_links.py [ROOT]

For each *.md file under ROOT (build trees and hidden directories left out),
every inline link [text](target) whose target is not a URL must name an
existing file or directory, relative to the linking file; a #fragment must
be the anchor of a heading of the target Markdown file (GitHub's: lower
case, punctuation other than - and _ dropped, spaces -> -, a repeated
heading gets -1, -2 ...).  Links inside code (fenced blocks, `spans`) are
not links.  Exit 1 naming each broken link, with its file and line.
"""

import os
import re
import sys


def markdown_lines(path):
    """(line number, text) of the lines outside fenced code blocks."""
    fence = False
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            if line.lstrip().startswith("```"):
                fence = not fence
                continue
            if not fence:
                yield no, line


def slug(heading):
    h = heading.strip().replace("`", "").lower()
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def anchors(path):
    found, seen = set(), {}
    for _, line in markdown_lines(path):
        m = re.match(r"#{1,6} (.*)", line)
        if m:
            s = slug(m.group(1))
            n = seen.get(s, 0)
            seen[s] = n + 1
            found.add(s if n == 0 else f"{s}-{n}")
    return found


def markdown_files(root):
    for top, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "build")))
        for f in sorted(files):
            if f.endswith(".md"):
                yield os.path.join(top, f)


def broken_links(path):
    for no, line in markdown_lines(path):
        line = re.sub(r"`[^`]*`", "", line)
        for target in re.findall(r"\]\(([^)\s]+)\)", line):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):
                continue
            file, _, frag = target.partition("#")
            full = os.path.normpath(os.path.join(os.path.dirname(path), file)) if file else path
            if not os.path.exists(full):
                yield no, target, "no such file"
            elif frag and not full.endswith(".md"):
                yield no, target, "an anchor into a file that is not Markdown"
            elif frag and frag not in anchors(full):
                yield no, target, f"no heading with the anchor #{frag} in {os.path.basename(full)}"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    root = os.path.abspath(root)
    files = list(markdown_files(root))
    bad = 0
    for path in files:
        for no, target, why in broken_links(path):
            print(f"{os.path.relpath(path, root)}:{no}: {target}: {why}")
            bad += 1
    print(f"{len(files)} Markdown files, {bad} broken links")
    return 1 if bad or not files else 0


if __name__ == "__main__":
    sys.exit(main())
