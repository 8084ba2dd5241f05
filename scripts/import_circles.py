#!/usr/bin/env python3
"""Import circles between the files of each crate's src/: `python3 scripts/import_circles.py`.

A file depends on another when it names an item defined there (`use crate::a::B`, `super::B`,
`crate::a::b()` in code, or a child module's item). Re-exports (`pub use`) are followed to the
file that defines the item, so a facade module's re-exports make no edge of their own. Unit
tests (`#[cfg(test)]` modules) are left out: the floors are the library's. Prints each circle
(a strongly connected set of two or more files) and exits 1 when there is one; `--quiet` prints
only the count per crate; `--floors` also prints each crate's files by floor (a file's floor is
one above the highest floor it imports from; floor 0 imports nothing of its crate).
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ["crates/model/src", "crates/training/src", "crates/cli/src", "crates/test-support/src", "src"]
ITEM = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:unsafe\s+)?(?:async\s+)?(?:const\s+)?"
    r"(?:fn|struct|enum|trait|type|const|static|union|mod)\s+(\w+)",
    re.M,
)
MACRO = re.compile(r"macro_rules!\s*(\w+)")


def strip(text):
    """The code without comments, string and char literals (kept as spaces), so braces count."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == "r" and re.match(r'r#*"', text[i:]) and not text[i - 1 : i].isalnum():
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            j = text.find('"' + hashes, i + len(hashes) + 2)
            i = n if j < 0 else j + 1 + len(hashes)
            out.append('""')
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'", text[i:]):
            i += len(re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'", text[i:]).group(0))
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def without_tests(code):
    """The code less its `#[cfg(test)]` items (a module or function, to its closing brace)."""
    while True:
        m = re.search(r"#\[cfg\(test\)\]", code)
        if not m:
            return code
        start = code.find("{", m.end())
        semi = code.find(";", m.end())
        if semi >= 0 and (start < 0 or semi < start):
            code = code[: m.start()] + code[semi + 1 :]
            continue
        depth, j = 0, start
        while j < len(code):
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            if depth == 0:
                break
            j += 1
        code = code[: m.start()] + code[j + 1 :]


def expand(tree):
    """`a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e` (aliases and globs kept as names)."""
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^(.*?)\{(.*)\}$", tree)
    if not m:
        return [re.sub(r"as\w+$", "", tree) if "as" in tree.split("::")[-1] else tree]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, last = [], 0, 0
    for k, ch in enumerate(inner):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(inner[last:k])
            last = k + 1
    parts.append(inner[last:])
    return [p for part in parts if part for p in expand(prefix + part)]


class Crate:
    def __init__(self, src):
        self.src = src
        self.files = {}  # module path tuple -> file
        self.code = {}  # file -> code without comments, literals, tests
        root = src / "lib.rs" if (src / "lib.rs").exists() else src / "main.rs"
        self.load((), root)

    def load(self, module, path):
        self.files[module] = path
        self.code[path] = without_tests(strip(path.read_text()))
        for name in re.findall(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", self.code[path], re.M):
            base = path.parent if path.name in ("lib.rs", "main.rs", "mod.rs") else path.with_suffix("")
            for child in (base / f"{name}.rs", base / name / "mod.rs"):
                if child.exists():
                    self.load(module + (name,), child)

    def children(self, module):
        return {m[-1] for m in self.files if len(m) == len(module) + 1 and m[:-1] == module}

    def uses(self, path):
        """Each `use` path of a file with whether it is a re-export."""
        for m in re.finditer(r"^\s*(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", self.code[path], re.M):
            for item in expand(m.group(2)):
                yield item, m.group(1) is not None and "(" not in m.group(1)

    def resolve(self, module, segments, seen=()):
        """The file defining the item `segments` names from `module` (None outside the crate)."""
        if not segments:
            return None
        first, rest = segments[0], segments[1:]
        if first == "crate":
            return self.walk((), rest, seen)
        if first == "self":
            return self.walk(module, rest, seen)
        if first == "super":
            return self.resolve(module[:-1], ["self"] + rest, seen)
        if first in self.children(module):
            return self.walk(module, segments, seen)
        return None

    def walk(self, module, segments, seen):
        while segments and segments[0] in self.children(module):
            module, segments = module + (segments[0],), segments[1:]
        while segments and segments[0] == "super":
            module, segments = module[:-1], segments[1:]
        file = self.files[module]
        if not segments or segments[0] in ("*", "self"):
            return file
        name = segments[0]
        if (module, name) in seen:
            return file
        code = self.code[file]
        if name in ITEM.findall(code) or name in MACRO.findall(code):
            return file
        for item, public in self.uses(file):
            parts = item.split("::")
            if public and (parts[-1] == name or parts[-1] == "*"):
                target = parts if parts[-1] == name else parts[:-1] + [name]
                found = self.resolve(module, target, seen + ((module, name),))
                if found:
                    return found
        return file

    def edges(self):
        graph = {f: set() for f in self.code}
        for module, file in self.files.items():
            for item, public in self.uses(file):
                if public:
                    continue
                target = self.resolve(module, item.split("::"))
                if target and target != file:
                    graph[file].add(target)
            code = re.sub(r"^\s*(pub(\([^)]*\))?\s+)?use\s+[^;]+;", "", self.code[file], flags=re.M)
            for m in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", code):
                target = self.resolve(module, m.group(1).split("::"))
                if target and target != file:
                    graph[file].add(target)
        return graph


def circles(graph):
    """Tarjan's strongly connected components of two or more files."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def floors(graph):
    """Each file's floor in an acyclic graph: 0 for a file importing nothing of its crate."""
    floor = {}

    def visit(v):
        if v not in floor:
            floor[v] = 0
            floor[v] = max((visit(w) + 1 for w in graph[v]), default=0)
        return floor[v]

    for v in graph:
        visit(v)
    return floor


def main():
    quiet = "--quiet" in sys.argv
    by_floor = "--floors" in sys.argv
    total = 0
    for src in CRATES:
        crate = Crate(ROOT / src)
        graph = crate.edges()
        found = circles(graph)
        total += len(found)
        print(f"{src}: {len(crate.code)} files, {len(found)} circle(s)")
        if by_floor and not found:
            floor = floors(graph)
            for level in range(max(floor.values()) + 1):
                names = sorted(str(f.relative_to(ROOT / src)) for f in floor if floor[f] == level)
                print(f"  floor {level}: {', '.join(names)}")
        if quiet:
            continue
        for component in found:
            names = {f: str(f.relative_to(ROOT / src)) for f in component}
            print(f"  {len(component)} files:")
            for f in component:
                inside = sorted(names[t] for t in graph[f] if t in names)
                print(f"    {names[f]} -> {', '.join(inside)}")
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()
