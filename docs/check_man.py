#!/usr/bin/env python3
"""check_man.py: fails when chyve's --help and the man page disagree.

Usage: check_man.py CHYVE MANPAGE. Compares, in order, every section heading and every entry
(its option spec such as "-m, --memory-size <SIZE>" and its [env: ...] / [default: ...] notes)
of `CHYVE --help` with the .SS subsections and .TP entries of the man page, and the sets of
--long option names mentioned anywhere in either.
"""
import re
import subprocess
import sys

NOTE = re.compile(r"\[(env|default): [^\]]*\]")
LONG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def help_entries(text):
    """(heading, spec, notes) for every entry of the --help text."""
    entries, heading, cur = [], None, None
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            heading, cur = line[:-1], None
        elif heading and re.match(r"( {2}[-<\[]| {6}--)", line):
            parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
            cur = [heading, parts[0], parts[1] if len(parts) > 1 else ""]
            entries.append(cur)
        elif cur and line.startswith("        "):
            cur[2] += " " + line.strip()
        else:
            cur = None
    return [(h, s, notes(d)) for h, s, d in entries]


def notes(desc):
    """The [env: ...] and [default: ...] notes of a description, in order."""
    return tuple(m.group(0) for m in NOTE.finditer(" ".join(desc.split())))


def unroff(s):
    """Plain text of a roff line: escapes for dashes, fonts and quotes removed."""
    for a, b in (("\\-", "-"), ("\\fB", ""), ("\\fI", ""), ("\\fR", ""), ("\\fP", ""),
                 ("\\(dq", '"'), ("\\&", ""), ("\\e", "\\")):
        s = s.replace(a, b)
    return s


def man_entries(text):
    """(heading, spec, notes) for every .TP entry under a .SS subsection of the man page."""
    entries, heading, cur, expect_spec = [], None, None, False
    for line in text.splitlines():
        if line.startswith(".SS"):
            heading, cur = unroff(line[3:].strip().strip('"')), None
        elif line.startswith(".SH"):
            heading, cur = None, None
        elif line.startswith(".TP") and heading:
            expect_spec = True
        elif expect_spec:
            cur = [heading, unroff(line).strip(), ""]
            entries.append(cur)
            expect_spec = False
        elif line.startswith(".") and not line.startswith((".B", ".I", ".BR", ".IR")):
            cur = None
        elif cur:
            cur[2] += " " + unroff(re.sub(r"^\.(B|I|BR|IR) ", "", line))
    return [(h, s, notes(d)) for h, s, d in entries]


def main():
    chyve, man = sys.argv[1], sys.argv[2]
    help_text = subprocess.run([chyve, "--help"], check=True, capture_output=True,
                               text=True).stdout
    man_text = open(man, encoding="utf-8").read()
    h, m = help_entries(help_text), man_entries(man_text)
    ok = True
    for i in range(max(len(h), len(m))):
        a = h[i] if i < len(h) else None
        b = m[i] if i < len(m) else None
        if a != b:
            print(f"entry {i}: --help has {a}\n          man page has {b}")
            ok = False
            break
    hl, ml = set(LONG.findall(help_text)), set(LONG.findall(unroff(man_text)))
    if hl != ml:
        print(f"--long names only in --help: {sorted(hl - ml)}; only in the man page: "
              f"{sorted(ml - hl)}")
        ok = False
    if not h:
        print("no entries found in --help")
        ok = False
    print(f"{len(h)} entries compared: {'agree' if ok else 'DIFFER'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
