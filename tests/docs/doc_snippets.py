#!/usr/bin/env python3
"""Runs the code in the documentation: every fenced python, cpp and c block of README.md and docs/*.md.

  doc_snippets.py run --build-dir BUILD [--only python|cpp|c] [FILE.md ...]
  doc_snippets.py emit-cpp FILE.md OUT.cc     (the file's C++ blocks as one program, for the install test)

Each runnable block runs twice in a row in a fresh directory, so a snippet that works once and then fails (a
request id reused by a second run, say) fails here. How a block is treated:

  python   run with /usr/bin/python3-compatible interpreter, the package from bindings/python and the library of
           BUILD (CONVSTORE_LIBRARY).
  cpp, c   a block with main() is compiled as is; a block of prototypes and typedefs only is compiled after the
           public header, so it must match the real declarations; any other block is the body of main(). C++ is
           built with -std=c++20 -Wall -Wextra -Werror, C with -std=c99 -Wall -Wextra -pedantic -Werror (C11 for a
           block of declarations, which may repeat the header's typedefs), and run.

An HTML comment on the line before a block changes that:
  <!-- snippet: continues -->       the block runs after the previous block of the same language in the file,
                                    as one program (the earlier blocks' variables are in scope)
  <!-- snippet: not run: WHY -->    not run (the seed's PostgreSQL original shown for comparison, say)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("python", "cpp", "c")


@dataclass
class Snippet:
    path: Path
    line: int           # 1-based line of the opening fence
    lang: str
    code: str
    directive: str      # "", "continues" or "not run: ..."

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def extract(path: Path) -> list[Snippet]:
    out: list[Snippet] = []
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        m = re.fullmatch(r"```(\w+)\s*", lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        directive = ""
        if start > 0:
            d = re.fullmatch(r"<!--\s*snippet:\s*(.+?)\s*-->\s*", lines[start - 1])
            if d:
                directive = d.group(1)
        if lang in LANGS:
            out.append(Snippet(path, start + 1, lang, "\n".join(lines[start + 1:j]) + "\n", directive))
        i = j + 1
    return out


def programs(snippets: list[Snippet]) -> list[tuple[str, list[Snippet]]]:
    """Groups blocks into programs: a "continues" block joins the previous program of its language and file."""
    progs: list[tuple[str, list[Snippet]]] = []
    last: dict[tuple[Path, str], list[Snippet]] = {}
    for s in snippets:
        if s.directive.startswith("not run"):
            continue
        if s.directive not in ("", "continues"):
            raise SystemExit(f"{s.where}: unknown snippet directive '{s.directive}'")
        key = (s.path, s.lang)
        if s.directive == "continues":
            if key not in last:
                raise SystemExit(f"{s.where}: 'continues' but no earlier {s.lang} block in the file")
            last[key].append(s)
            continue
        group = [s]
        last[key] = group
        progs.append((s.lang, group))
    return progs


_DECLARATION = re.compile(r"^\s*(typedef\b|(?:const\s+)?[\w*]+[\s*]+\**\w+\s*\()")


def _declarations_only(code: str) -> bool:
    """Prototypes and typedefs only: every statement starts like one and there is no body."""
    statements = [s.strip() for s in code.split(";") if s.strip()]
    return bool(statements) and "{" not in code and all(_DECLARATION.match(s) for s in statements)


def c_source(lang: str, blocks: list[Snippet]) -> str:
    code = "".join(b.code for b in blocks)
    if re.search(r"\bmain\s*\(", code):
        return code
    if lang == "cpp":
        head = "#include <convstore/convstore.hpp>\n#include <iostream>\n#include <string>\n"
    else:
        head = "#include <convstore/convstore.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
    if _declarations_only(code):
        return head + code + "int main(void) { return 0; }\n"
    return head + "int main(void) {\n" + code + "  return 0;\n}\n"


def _run_twice(cmd: list[str], env: dict, name: str) -> str | None:
    work = Path(tempfile.mkdtemp(prefix="convstore-snippet-"))
    try:
        for attempt in (1, 2):
            r = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                return f"{name}: run {attempt} of 2 failed (exit {r.returncode}):\n{r.stdout}{r.stderr}"
        return None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(build: Path, only: str | None, files: list[Path]) -> int:
    lib = build / "libconvstore.so"
    include_dirs = [ROOT / "include", ROOT / "bindings" / "c" / "include", build / "generated"]
    env = dict(os.environ, CONVSTORE_LIBRARY=str(lib),
               PYTHONPATH=os.pathsep.join([str(ROOT / "bindings" / "python"), os.environ.get("PYTHONPATH", "")]))
    env.pop("PYTHONHOME", None)
    failures: list[str] = []
    count = 0
    scratch = Path(tempfile.mkdtemp(prefix="convstore-snippet-bin-"))
    try:
        for f in files:
            for lang, blocks in programs(extract(f)):
                if only and lang != only:
                    continue
                name = blocks[0].where + (f" (+{len(blocks) - 1} continuing)" if len(blocks) > 1 else "")
                count += 1
                if lang == "python":
                    src = scratch / f"snippet{count}.py"
                    src.write_text("".join(b.code for b in blocks), encoding="utf-8")
                    err = _run_twice([sys.executable, str(src)], env, name)
                else:
                    ext = "cc" if lang == "cpp" else "c"
                    src = scratch / f"snippet{count}.{ext}"
                    src.write_text(c_source(lang, blocks), encoding="utf-8")
                    exe = scratch / f"snippet{count}"
                    # C declarations repeat the header's typedefs, which C11 allows and C99 does not.
                    c_std = "-std=c11" if _declarations_only("".join(b.code for b in blocks)) else "-std=c99"
                    compiler = ["g++", "-std=c++20"] if lang == "cpp" else ["cc", c_std, "-pedantic"]
                    cmd = compiler + ["-Wall", "-Wextra", "-Werror", str(src), "-o", str(exe)]
                    cmd += [f"-I{d}" for d in include_dirs] + [f"-L{build}", "-lconvstore", f"-Wl,-rpath,{build}"]
                    r = subprocess.run(cmd, capture_output=True, text=True)
                    if r.returncode != 0:
                        err = f"{name}: does not compile:\n{r.stderr}\n--- source ---\n{src.read_text()}"
                    else:
                        err = _run_twice([str(exe)], env, name)
                status = "ok" if err is None else "FAILED"
                print(f"{status:6} {lang:6} {name}")
                if err:
                    failures.append(err)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for e in failures:
        print("\n" + e, file=sys.stderr)
    print(f"{count - len(failures)} of {count} documentation programs ran twice without error")
    return 1 if failures else 0


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bindings" / "python" / "README.md"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--build-dir", required=True, type=Path)
    r.add_argument("--only", choices=LANGS)
    r.add_argument("files", nargs="*", type=Path)
    e = sub.add_parser("emit-cpp")
    e.add_argument("file", type=Path)
    e.add_argument("out", type=Path)
    a = p.parse_args()
    if a.cmd == "run":
        files = [f.resolve() for f in a.files] or doc_files()
        return run(a.build_dir.resolve(), a.only, files)
    progs = [blocks for lang, blocks in programs(extract(a.file.resolve())) if lang == "cpp"]
    if len(progs) != 1:
        raise SystemExit(f"{a.file}: expected one C++ program, found {len(progs)}")
    a.out.write_text(c_source("cpp", progs[0]), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
