#!/usr/bin/env python3
"""Lists Rust functions longer than a limit (150 lines by default) and fails if there is one.

Usage: scripts/long-functions.py [--limit N] [--all] [PATH...]   (default paths: crates src-tauri)

A long function mixes responsibilities; the project keeps each under ~150 lines (issue 12),
split by what the code does. Tests are exempt: files under a `tests/` folder and anything
inside a `#[cfg(test)]` item or marked `#[test]`/`#[tokio::test]` (a test reads top to
bottom as one scenario). `--all` lists the test functions too, without failing on them.

The scanner is a small Rust lexer, not a parser: it skips comments, strings (raw, byte),
char literals and lifetimes, so a brace inside any of those does not count; a function's
length is from its `fn` line to its closing brace, nested closures and items included.
"""

import os
import re
import sys

# Functions over the limit that another change is rewriting; listed, not failed. An entry
# whose function is gone or short enough fails the check until it is removed here.
PENDING: dict = {}

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def tokens(src):
    """Yields (kind, text, line) for the tokens the scanner needs: identifiers, `#[...]`
    attribute starts and the punctuation `{ } ( ) ; [ ]`. Everything else is skipped."""
    i, line, n = 0, 1, len(src)
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    line += src[i] == "\n"
                    i += 1
        elif c in "rb" and re.match(r"(br|r)#*\"", src[i:]):
            m = re.match(r"(br|r)(#*)\"", src[i:])
            end = '"' + m.group(2)
            j = src.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            line += src.count("\n", i, j)
            i = j
        elif c == '"' or (c == "b" and src.startswith('b"', i)):
            i += 2 if c == "b" else 1
            while i < n and src[i] != '"':
                if src[i] == "\\":
                    i += 1
                line += i < n and src[i] == "\n"
                i += 1
            i += 1
        elif c == "'" or (c == "b" and src.startswith("b'", i)):
            start = i + (2 if c == "b" else 1)
            # A char literal ('x', '\n', '\u{..}'); otherwise a lifetime or label ('a).
            m = re.match(r"(\\(u\{[0-9a-fA-F]*\}|x[0-9a-fA-F]{2}|.)|[^\\\n])'", src[start:])
            if m:
                i = start + m.end()
            else:
                i += 1
                m = IDENT.match(src, i)
                if m:
                    i = m.end()
        elif c == "#" and re.match(r"#!?\[", src[i:]):
            yield ("attr", "#[", line)
            i += 2 if src[i + 1] == "[" else 3
        elif c in "{}();[]":
            yield ("punct", c, line)
            i += 1
        elif c.isalpha() or c == "_":
            m = IDENT.match(src, i)
            yield ("ident", m.group(0), line)
            i = m.end()
        else:
            i += 1


def functions(path):
    """Yields (name, first_line, last_line, is_test) for every function body in a file."""
    with open(path, encoding="utf-8") as f:
        src = f.read()
    toks = list(tokens(src))
    in_tests_dir = os.sep + "tests" + os.sep in os.sep + path
    # Open braces: each entry is (kind, name, line, is_test) where kind is "fn" or "other".
    stack = []
    pending_attr_test = False  # the next item carries #[test] / #[cfg(test)]
    pending_fn = None  # (name, line) seen `fn name`, waiting for its `{` or `;`
    paren = 0
    k = 0
    while k < len(toks):
        kind, text, line = toks[k]
        if kind == "attr":
            # Read the attribute's text up to its matching `]`.
            depth, words, k = 1, [], k + 1
            while k < len(toks) and depth:
                _, t, _ = toks[k]
                depth += t == "["
                depth -= t == "]"
                words.append(t)
                k += 1
            joined = " ".join(words)
            if re.search(r"\btest\b", joined) and not re.search(r"\bnot\b", joined):
                pending_attr_test = True
            continue
        if kind == "ident" and text == "fn" and k + 1 < len(toks) and toks[k + 1][0] == "ident":
            pending_fn = (toks[k + 1][1], line)
            paren = 0
            k += 2
            continue
        if text == "(":
            paren += 1
        elif text == ")":
            paren -= 1
        elif text == ";" and paren == 0:
            if pending_fn:
                pending_fn = None  # a declaration without a body (trait method)
            pending_attr_test = False
        elif text == "{":
            inherited = any(e[3] for e in stack)
            is_test = inherited or pending_attr_test
            if pending_fn and paren == 0:
                stack.append(("fn", pending_fn[0], pending_fn[1], is_test))
                pending_fn = None
            else:
                stack.append(("other", None, line, is_test))
            pending_attr_test = False
        elif text == "}":
            if stack:
                kind_, name, first, is_test = stack.pop()
                if kind_ == "fn":
                    yield name, first, line, is_test or in_tests_dir
        k += 1


def rust_files(paths):
    for p in paths:
        if os.path.isfile(p):
            yield p
            continue
        for root, dirs, files in os.walk(p):
            dirs[:] = [d for d in dirs if d not in ("target", "node_modules", ".git", "gen")]
            for f in sorted(files):
                if f.endswith(".rs"):
                    yield os.path.join(root, f)


def main(argv):
    limit, show_all, paths = 150, False, []
    args = iter(argv)
    for a in args:
        if a == "--limit":
            limit = int(next(args))
        elif a == "--all":
            show_all = True
        else:
            paths.append(a)
    paths = paths or ["crates", "src-tauri"]
    long_ones = []
    all_functions = set()
    for path in rust_files(paths):
        for name, first, last, is_test in functions(path):
            length = last - first + 1
            key = (os.path.normpath(path), name)
            if length > limit and not is_test:
                all_functions.add(key)
            if length > limit and (show_all or not is_test):
                long_ones.append((length, path, first, name, is_test))
    long_ones.sort(reverse=True)
    failing = []
    for length, path, first, name, is_test in long_ones:
        why = PENDING.get((os.path.normpath(path), name))
        note = " (test)" if is_test else f" (pending: {why})" if why else ""
        print(f"{length:5} {path}:{first} {name}{note}")
        if not is_test and not why:
            failing.append(name)
    stale = [
        f"{path} {name}"
        for (path, name) in PENDING
        if any(os.path.normpath(p).startswith(os.path.normpath(path)) or
               os.path.normpath(path).startswith(os.path.normpath(p)) for p in paths)
        and (path, name) not in all_functions
    ]
    sys.stdout.flush()
    if stale:
        print(
            "No longer over the limit (remove from PENDING in scripts/long-functions.py): "
            + ", ".join(stale),
            file=sys.stderr,
        )
    if failing:
        print(
            f"{len(failing)} function(s) over {limit} lines: split each by what it does "
            "(one function per check group, resource or phase).",
            file=sys.stderr,
        )
    if failing or stale:
        return 1
    print(f"No function over {limit} lines (tests exempt, {len(PENDING)} pending).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
