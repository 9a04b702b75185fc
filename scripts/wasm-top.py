#!/usr/bin/env python3
"""What the WASM bundle is made of, by crate: the size of every function body in the code
section, named from the `name` section, summed by the crate its (demangled) path starts with.
Like `twiggy top`, without installing anything.

Usage: wasm-top.py FILE.wasm [N] [--forbid CRATE,CRATE…]
  prints the N largest crates and functions (default 10); with --forbid, exits 1 if any code of
  those crates is in the module.

Needs a module that still has its `name` section: the one cargo builds, before wasm-bindgen and
wasm-opt strip it, or better that one passed through `wasm-bindgen --keep-debug` and
`wasm-opt -Oz -g`, which is what the browser gets with its names kept (scripts/budgets.sh does
this).
"""
import re
import sys
from collections import Counter


def leb(data, i):
    result = shift = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def sections(data):
    assert data[:4] == b"\0asm", "not a WASM module"
    i = 8
    while i < len(data):
        kind = data[i]
        size, j = leb(data, i + 1)
        yield kind, data[j : j + size]
        i = j + size


def imported_functions(payload):
    count, i = leb(payload, 0)
    functions = 0
    for _ in range(count):
        for _ in range(2):  # module and field names
            n, i = leb(payload, i)
            i += n
        kind = payload[i]
        i += 1
        if kind == 0:  # function: type index
            _, i = leb(payload, i)
            functions += 1
        elif kind == 1:  # table: reftype, limits
            i += 1
            flags, i = leb(payload, i)
            _, i = leb(payload, i)
            if flags & 1:
                _, i = leb(payload, i)
        elif kind == 2:  # memory: limits
            flags, i = leb(payload, i)
            _, i = leb(payload, i)
            if flags & 1:
                _, i = leb(payload, i)
        elif kind == 3:  # global: valtype, mutability
            i += 2
        elif kind == 4:  # tag
            i += 1
            _, i = leb(payload, i)
    return functions


def body_sizes(payload):
    count, i = leb(payload, 0)
    sizes = []
    for _ in range(count):
        size, i = leb(payload, i)
        sizes.append(size)
        i += size
    return sizes


def function_names(payload):
    names = {}
    i = 0
    while i < len(payload):
        sub = payload[i]
        size, i = leb(payload, i + 1)
        end = i + size
        if sub == 1:
            count, i = leb(payload, i)
            for _ in range(count):
                index, i = leb(payload, i)
                n, i = leb(payload, i)
                names[index] = payload[i : i + n].decode("utf-8", "replace")
                i += n
        i = end
    return names


PRIMITIVES = {"str", "char", "bool", "f32", "f64", "u8", "u16", "u32", "u64", "u128", "usize",
              "i8", "i16", "i32", "i64", "i128", "isize"}


def demangle_crate(name):
    """The crate a function belongs to, from a mangled (legacy or v0) or demangled name; a
    generic impl (`<T as tachys::…>`) counts for the crate of the trait, methods of primitive
    types for core."""
    m = re.match(r"_ZN(\d+)", name)
    if m:
        n = int(m.group(1))
        start = m.end()
        first = name[start : start + n]
        if first.startswith("_$LT$"):  # <T as Trait>::f: the crate of T
            inner = first[5:]
            return re.split(r"\.\.|::|\$", inner)[0] or "?"
        return first
    m = re.match(r"_R.*?C(?:s[0-9a-zA-Z_]*_)?(\d+)([A-Za-z_][A-Za-z0-9_]*)", name)
    if m:
        return m.group(2)[: int(m.group(1))]
    # Demangled (wasm-opt -g keeps these): `<T as tachys::…>`, `core[1a2b]::fmt`, `<str>::f`.
    rest = name.lstrip("<&").removeprefix("mut ").lstrip("&")
    generic = re.match(r"[A-Z][A-Za-z0-9]* as &?(?:mut )?", rest)
    if generic:
        rest = rest[generic.end() :]
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", rest)
    if not m or "[" in name[:1]:
        return "?"
    crate = m.group(0)
    if crate in PRIMITIVES:
        return "core"
    if crate in ("func", "code"):
        return "?"
    return crate


def main():
    args = sys.argv[1:]
    forbid = []
    if "--forbid" in args:
        k = args.index("--forbid")
        forbid = args[k + 1].split(",")
        del args[k : k + 2]
    path = args[0]
    top = int(args[1]) if len(args) > 1 else 10
    data = open(path, "rb").read()
    imports, bodies, names = 0, [], {}
    for kind, payload in sections(data):
        if kind == 2:
            imports = imported_functions(payload)
        elif kind == 10:
            bodies = body_sizes(payload)
        elif kind == 0:
            n, i = leb(payload, 0)
            if payload[i : i + n] == b"name":
                names = function_names(payload[i + n :])
    if not names:
        sys.exit(f"{path}: no name section (use the module cargo built, before wasm-opt)")
    by_crate, by_function = Counter(), Counter()
    for k, size in enumerate(bodies):
        name = names.get(imports + k, f"func[{imports + k}]")
        by_crate[demangle_crate(name)] += size
        by_function[name] += size
    total = sum(bodies)
    print(f"code: {total:,} bytes in {len(bodies):,} functions ({path})")
    print(f"\n| crate | bytes | share |\n|---|---:|---:|")
    for crate, size in by_crate.most_common(top):
        print(f"| {crate} | {size:,} | {100 * size / total:.1f} % |")
    print(f"\n| function | bytes |\n|---|---:|")
    for name, size in by_function.most_common(top):
        print(f"| `{name[:90]}` | {size:,} |")
    present = [c for c in forbid if by_crate.get(c)]
    if present:
        sys.exit(f"code from {', '.join(present)} is in {path}; it should not be")
    if forbid:
        print(f"\nnone of {', '.join(forbid)} in the module")


if __name__ == "__main__":
    main()
