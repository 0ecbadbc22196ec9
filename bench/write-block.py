"""Replaces the block between "<!-- NAME begin -->" and "<!-- NAME end -->" in a Markdown file
with a report, or appends it (under HEADING, if given) when the file has no such block yet.

    python3 bench/write-block.py bench/run.sh report.md BENCHMARKS.md
"""
import sys

name, report_path, path = sys.argv[1:4]
heading = sys.argv[4] if len(sys.argv) > 4 else None
report = open(report_path).read().rstrip("\n")
begin, end = "<!-- %s begin -->" % name, "<!-- %s end -->" % name
text = open(path).read()
if begin in text and end in text:
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    text = head + begin + "\n" + report + "\n" + end + tail
else:
    title = "## %s\n\n" % heading if heading else ""
    text = text.rstrip("\n") + "\n\n" + title + begin + "\n" + report + "\n" + end + "\n"
open(path, "w").write(text)
