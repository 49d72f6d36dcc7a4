#!/usr/bin/env python3
"""check-cycles.py: fails if two source files of chyve call each other (a module cycle).

Reads the symbol tables of static libraries and object files with `nm` and builds the
file-level graph "A calls a function defined in B" (an undefined symbol of A.o that B.o
defines). Every pair of files with edges both ways is a cycle: one line per pair, naming both
files and one symbol each way, and exit status 1. Longer cycles (A -> B -> C -> A) are
reported the same way, one line each. Nothing but a one-line summary is printed on success.

    scripts/check-cycles.py [--nm NM] [--source-root DIR] [--pairs-only] LIB.a|FILE.o ...

meson runs it on libchyve_core.a as the unit test `module_cycles`, and with --pairs-only on the
core and the backend library together as `module_cycles_backend` (tests/layout/meson.build): the
core calls the backend through backend.h and the backend calls the core (errors, guest memory,
the hypercall table), a layering the full check would report. Python 3 and the standard
library only.
"""

import argparse
import os
import re
import subprocess
import sys

# Deliberate two-way dependencies, as pairs of source paths (order does not matter). Each entry
# needs a comment saying why the two files may call each other; keep this list empty if at all
# possible: a callback API can usually take a function pointer or move to a third file.
ALLOWED = [
]

# nm -P (POSIX format) types: U undefined; w/v undefined weak; other upper case letters are
# defined globals (T text, D data, B bss, R read-only, C common, W/V weak, ...); u GNU unique.
UNDEFINED = set("Uwv")


def object_key(member):
    """An object's key: its file name without .o (meson: src/common/vm.c -> src_common_vm.c.o)."""
    base = os.path.basename(member)
    return base[: base.rindex(".")] if base.endswith((".o", ".obj")) else base


def source_key(path):
    """A source path's key, as meson flattens it into the object name: src_common_vm.c."""
    return path.replace("/", "_")


def resolve(key, root, cache={}):
    """The source path that meson flattened into key (src_common_vm.c), or key if none exists."""
    if not root:
        return key
    if key in cache:
        return cache[key]
    parts = key.split("_")
    found = None

    def walk(i, prefix, current):
        # prefix: directories chosen so far; current: the path component being built.
        nonlocal found
        if found:
            return
        if i == len(parts):
            path = os.path.join(prefix, current)
            if os.path.isfile(os.path.join(root, path)):
                found = path
            return
        part = parts[i]
        comp = part if current is None else current + "_" + part
        walk(i + 1, prefix, comp)  # an underscore that was in the name
        d = os.path.join(prefix, comp)
        if i + 1 < len(parts) and os.path.isdir(os.path.join(root, d)):
            walk(i + 1, d, None)  # an underscore that was a slash

    walk(0, "", None)
    cache[key] = found or key
    return cache[key]


def read_symbols(nm, paths):
    """{file key: (defined symbols, undefined symbols)} of every object in paths."""
    objects = {}
    line_re = re.compile(r"^(.*?): (\S+) (\S)")
    for path in paths:
        try:
            out = subprocess.run([nm, "-A", "-P", "-g", path], check=True, capture_output=True,
                                 text=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            msg = e.stderr.strip() if getattr(e, "stderr", None) else str(e)
            sys.exit("check-cycles: %s %s failed: %s" % (nm, path, msg))
        for line in out.splitlines():
            m = line_re.match(line)
            if not m:
                continue
            where, sym, kind = m.groups()
            # "lib.a[member.o]" for archive members, the file name for objects.
            member = re.match(r"^.*\[(.*)\]$", where)
            key = object_key(member.group(1) if member else where)
            defs, refs = objects.setdefault(key, (set(), set()))
            if kind in UNDEFINED:
                refs.add(sym)
            elif kind.isupper() or kind == "u":
                defs.add(sym)
    return objects


def build_graph(objects):
    """{A: {B: a symbol A uses that B defines}}, the alphabetically first such symbol."""
    owner = {}
    for key in sorted(objects):
        for sym in objects[key][0]:
            owner.setdefault(sym, key)  # a symbol defined twice: the linker picks one as well
    graph = {key: {} for key in objects}
    for key, (_, refs) in objects.items():
        for sym in sorted(refs):
            dest = owner.get(sym)
            if dest and dest != key:
                graph[key].setdefault(dest, sym)
    return graph


def strongly_connected(graph):
    """Tarjan's strongly connected components with more than one file, iteratively."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    n = stack.pop()
                    on_stack.discard(n)
                    component.append(n)
                    if n == node:
                        break
                if len(component) > 1:
                    result.append(sorted(component))
    return result


def find_cycle(graph, component):
    """One cycle through the component's first file, as a list of files (BFS, shortest)."""
    members = set(component)
    start = component[0]
    prev = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node]):
            if child == start:
                path = [node]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path))
            if child in members and child not in prev:
                prev[child] = node
                queue.append(child)
    return component


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nm", default=os.environ.get("NM", "nm"), help="nm to use [$NM or nm]")
    ap.add_argument("--source-root", help="name files by their source paths below this directory")
    ap.add_argument("--pairs-only", action="store_true",
                    help="report only two files calling each other, not longer cycles (for the "
                    "core with a backend: the two call each other through backend.h by design)")
    ap.add_argument("inputs", nargs="+", help="static libraries (.a) and object files (.o)")
    args = ap.parse_args()

    objects = read_symbols(args.nm, args.inputs)
    if not objects:
        sys.exit("check-cycles: no objects found in %s" % " ".join(args.inputs))
    graph = build_graph(objects)
    name = {key: resolve(key, args.source_root) for key in graph}
    allowed = {frozenset(source_key(f) for f in pair) for pair in ALLOWED}

    problems, used = [], set()
    for a in sorted(graph):
        for b in sorted(graph[a]):
            if a < b and a in graph[b]:
                pair = frozenset((a, b))
                if pair in allowed:
                    used.add(pair)
                    continue
                problems.append("cycle: %s <-> %s: %s uses %s, %s uses %s" % (
                    name[a], name[b], os.path.basename(name[a]), graph[a][b],
                    os.path.basename(name[b]), graph[b][a]))

    # Longer cycles: what is left once every two-way pair (reported or allowed) is taken out.
    acyclic_pairs = {key: {d: s for d, s in dests.items() if key not in graph[d]}
                     for key, dests in graph.items()}
    for component in [] if args.pairs_only else strongly_connected(acyclic_pairs):
        cycle = find_cycle(acyclic_pairs, component)
        steps = ["%s (%s)" % (name[b], acyclic_pairs[a][b])
                 for a, b in zip(cycle, cycle[1:] + cycle[:1])]
        problems.append("cycle: %s -> %s" % (name[cycle[0]], " -> ".join(steps)))

    edges = sum(len(d) for d in graph.values())
    path_of = {source_key(f): f for pair in ALLOWED for f in pair}
    stale = sorted(" <-> ".join(sorted(path_of[k] for k in p)) for p in allowed - used)
    note = "; allow-list entries no longer needed: %s" % ", ".join(stale) if stale else ""
    for line in problems:
        print(line)
    print("check-cycles: %d files, %d file dependencies, %d cycle%s, %d allowed%s" % (
        len(graph), edges, len(problems), "" if len(problems) == 1 else "s", len(used), note))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
