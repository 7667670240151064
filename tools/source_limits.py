#!/usr/bin/env python3
"""source_limits.py - the size and layer rules of the developers' guide, checked on C sources.

    tools/source_limits.py [--functions N] [--files N] [--seam [--no-sizes]] [PATH ...]

Lists every function longer than --functions lines (default 100) and every file longer
than --files lines (default 1000) under the PATHs (files or folders; default src), longest
first. With --seam it also lists the breaches of the storage seam: a file outside
src/store/ that calls SQLite (`sqlite3_`) or includes "store/db_sqlite.h"; --no-sizes
leaves the sizes out (make seam-check). Exits 1 when it listed anything, so it can gate a
build.

A function's length counts from the first line of its definition (return type) to its
closing brace. Functions are found with a brace counter over the source with comments,
strings and preprocessor lines blanked: a `{` at file level that follows `)` opens a
function body. Good enough for this tree's style (no K&R definitions, no function bodies
made by macros).
"""
import argparse
import os
import re
import sys

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def blank(text):
    """The text with comments, string and character literals and preprocessor lines
    replaced by spaces (newlines kept, so offsets and line numbers stay)."""
    out = list(text)
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c == "#":
            # a preprocessor line, with its continuations
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out[i] = " "
                    i += 2
                    continue
                out[i] = " "
                i += 1
            continue
        if c == "\n":
            line_start = True
            i += 1
            continue
        if c in " \t":
            i += 1
            continue
        line_start = False
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            for k in range(i, end):
                if out[k] != "\n":
                    out[k] = " "
            i = end
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                out[i] = " "
                i += 1
        elif c in "\"'":
            k = i + 1
            while k < n and text[k] != c:
                k += 2 if text[k] == "\\" else 1
            for j in range(i + 1, min(k, n)):
                if out[j] != "\n":
                    out[j] = " "
            i = k + 1
        else:
            i += 1
    return "".join(out)


def functions(text):
    """Yields (name, first_line, last_line) for each function definition in C `text`."""
    code = blank(text)
    depth = 0
    statement_start = 0  # offset after the last ';' or '}' at file level
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        if c == "{":
            if depth == 0:
                before = code[statement_start:i].rstrip()
                if before.endswith(")"):
                    name = function_name(before)
                    end = matching_brace(code, i)
                    if name:
                        first = first_line(code, statement_start)
                        yield name, first, code.count("\n", 0, end) + 1
                    i = end + 1
                    statement_start = i
                    continue
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                statement_start = i + 1
        elif c == ";" and depth == 0:
            statement_start = i + 1
        i += 1


def function_name(header):
    """The name before the parameter list that ends `header`, or None."""
    depth = 0
    for k in range(len(header) - 1, -1, -1):
        if header[k] == ")":
            depth += 1
        elif header[k] == "(":
            depth -= 1
            if depth == 0:
                words = IDENTIFIER.findall(header[:k])
                if not words or "=" in header:
                    return None
                return words[-1]
    return None


def matching_brace(code, start):
    depth = 0
    for k in range(start, len(code)):
        if code[k] == "{":
            depth += 1
        elif code[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return len(code) - 1


def first_line(code, offset):
    """The line number of the first non-blank character at or after `offset`."""
    while offset < len(code) and code[offset].isspace():
        offset += 1
    return code.count("\n", 0, offset) + 1


def sources(paths):
    for path in paths:
        if os.path.isfile(path):
            yield path
            continue
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                if name.endswith((".c", ".h")):
                    yield os.path.join(root, name)


def seam_breaches(path, text):
    """Why `path` breaks the storage seam (empty when it does not)."""
    normalized = path.replace(os.sep, "/")
    if "src/" not in normalized or "src/store/" in normalized:
        return []
    reasons = []
    if "sqlite3_" in text:
        reasons.append("calls SQLite (sqlite3_)")
    if re.search(r'#\s*include\s*"store/db_sqlite\.h"', text):
        reasons.append('includes "store/db_sqlite.h"')
    return reasons


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", default=["src"])
    parser.add_argument("--functions", type=int, default=100, help="longest function allowed")
    parser.add_argument("--files", type=int, default=1000, help="longest file allowed")
    parser.add_argument("--seam", action="store_true", help="also check the storage seam")
    parser.add_argument("--no-sizes", action="store_true", help="do not check the sizes")
    args = parser.parse_args()

    long_functions, long_files, breaches = [], [], []
    for path in sources(args.paths):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        lines = text.count("\n")
        if args.no_sizes:
            pass
        elif lines > args.files:
            long_files.append((lines, path))
        if path.endswith(".c") and not args.no_sizes:
            for name, first, last in functions(text):
                length = last - first + 1
                if length > args.functions:
                    long_functions.append((length, path, first, name))
        if args.seam:
            breaches += ["%s: %s" % (path, why) for why in seam_breaches(path, text)]

    for lines, path in sorted(long_files, key=lambda x: (-x[0], x[1])):
        print("%s: %d lines (more than %d)" % (path, lines, args.files))
    for length, path, line, name in sorted(long_functions, key=lambda x: (-x[0], x[1], x[2])):
        print("%s:%d: %s() %d lines (more than %d)" % (path, line, name, length, args.functions))
    for breach in breaches:
        print(breach)
    return 1 if long_files or long_functions or breaches else 0


if __name__ == "__main__":
    sys.exit(main())
