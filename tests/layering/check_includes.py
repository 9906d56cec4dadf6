#!/usr/bin/env python3
"""Holds daemon/'s #includes to the layering declared in daemon/CMakeLists.txt.

Each `tact_part(<dir> DEPS <parts>... LIBS <targets>...)` and `tact_main(<binary> <dir> DEPS ... LIBS ...)` call
there says which parts and which third-party libraries the sources of daemon/<dir>/ may include. A source may
include its own part, the parts in its DEPS (directly: a part does not inherit its dependencies' dependencies, so
adapters that meet through `decision` still cannot include each other), and the headers of the libraries in its
LIBS; Abseil, the generated API (tact/v1/*.pb.h) and the C/C++ standard library are everyone's. The DEPS must form
no cycle, and every directory under daemon/ must be declared.

Usage: check_includes.py <repo root>        exit 0 when every include is allowed, 1 with one line per violation
       check_includes.py --self-test         checks the checker on a small tree with known violations
"""

import os
import re
import sys
import tempfile

# Third-party header prefixes and the link targets (in daemon/CMakeLists.txt) that grant them.
LIBRARY_HEADERS = [
    ("librdkafka/", {"PkgConfig::RDKAFKA"}),
    ("hiredis/", {"PkgConfig::HIREDIS"}),
    ("httplib.h", {"PkgConfig::HTTPLIB"}),
    ("grpcpp/", {"gRPC::grpc++"}),
    ("grpc/", {"gRPC::grpc++"}),
    ("openssl/", {"OpenSSL::SSL", "OpenSSL::Crypto"}),
    ("yaml-cpp/", {"yaml-cpp"}),
    ("nlohmann/", {"nlohmann_json::nlohmann_json"}),
    ("prometheus/", {"prometheus-cpp::core"}),
    ("google/protobuf/", None),  # with the generated API: everyone's
    ("absl/", None),
    ("tact/v1/", None),
]

CALL = re.compile(r"^\s*tact_(part|main)\(([^)]*)\)", re.M | re.S)
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]', re.M)


def parse_layers(cmake_text):
    """{dir: (deps set, libs set)} from the tact_part/tact_main calls."""
    layers = {}
    for kind, body in CALL.findall(re.sub(r"#[^\n]*", "", cmake_text)):
        words = body.split()
        if kind == "part":
            directory, rest = words[0], words[1:]
        else:
            directory, rest = words[1], words[2:]
        deps, libs, current = set(), set(), None
        for word in rest:
            if word in ("DEPS", "LIBS"):
                current = deps if word == "DEPS" else libs
            elif current is not None:
                current.add(word)
        layers[directory] = (deps, libs)
    return layers


def find_cycle(layers):
    state = {}

    def visit(node, path):
        state[node] = 1
        for dep in sorted(layers.get(node, (set(), set()))[0]):
            if state.get(dep) == 1:
                return path + [dep]
            if dep not in state:
                found = visit(dep, path + [dep])
                if found:
                    return found
        state[node] = 2
        return None

    for node in sorted(layers):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def check(root):
    cmake = os.path.join(root, "daemon", "CMakeLists.txt")
    with open(cmake, encoding="utf-8") as f:
        layers = parse_layers(f.read())
    problems = []
    cycle = find_cycle(layers)
    if cycle:
        problems.append(f"daemon/CMakeLists.txt: the parts depend on each other in a cycle: {' -> '.join(cycle)}")
    for part, (deps, _) in sorted(layers.items()):
        for dep in sorted(deps - set(layers)):
            problems.append(f"daemon/CMakeLists.txt: {part} depends on {dep}, which is not a declared part")
    daemon = os.path.join(root, "daemon")
    for directory in sorted(os.listdir(daemon)):
        path = os.path.join(daemon, directory)
        if not os.path.isdir(path):
            continue
        if directory not in layers:
            problems.append(f"daemon/{directory}/: not declared in daemon/CMakeLists.txt (tact_part or tact_main)")
            continue
        deps, libs = layers[directory]
        for base, _, files in os.walk(path):
            for name in sorted(files):
                if name.endswith((".h", ".cc", ".h.in")):
                    problems += check_file(root, os.path.join(base, name), directory, deps, libs)
    return problems


def check_file(root, path, part, deps, libs):
    problems = []
    rel = os.path.relpath(path, root)
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for match in INCLUDE.finditer(text):
        bracket, header = match.group(1), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        if header.startswith("daemon/"):
            target = header.split("/")[1]
            if target != part and target not in deps:
                problems.append(f"{rel}:{line}: {part} may not include {header} "
                                f"(daemon/CMakeLists.txt: {part} DEPS {' '.join(sorted(deps)) or '(none)'})")
            elif not os.path.exists(os.path.join(root, header)) and not header.endswith("_lua.h"):
                problems.append(f"{rel}:{line}: {header} does not exist")
            continue
        for prefix, granted_by in LIBRARY_HEADERS:
            if header.startswith(prefix):
                if granted_by is not None and not (granted_by & libs):
                    problems.append(f"{rel}:{line}: {part} may not include <{header}> "
                                    f"(needs {' or '.join(sorted(granted_by))} in its LIBS)")
                break
        else:
            if bracket == '"':
                problems.append(f"{rel}:{line}: \"{header}\" is not a daemon/ path; include parts as "
                                f"\"daemon/<part>/<file>.h\"")
    return problems


def self_test():
    with tempfile.TemporaryDirectory() as root:
        def write(rel, text):
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w", encoding="utf-8") as f:
                f.write(text)

        write("daemon/CMakeLists.txt", "tact_part(core)\n# tact_part(commented DEPS x)\n"
              "tact_part(store DEPS core LIBS PkgConfig::HIREDIS)\n"
              "tact_part(decision DEPS core store)\ntact_part(pipeline DEPS core decision\n  LIBS PkgConfig::RDKAFKA)\n"
              "tact_main(tactd tactd DEPS pipeline)\n")
        write("daemon/core/clock.h", "#include <string>\n#include \"absl/time/time.h\"\n")
        write("daemon/store/port.h", "#include \"daemon/core/clock.h\"\n#include <hiredis/hiredis.h>\n")
        write("daemon/decision/service.h", "#include \"daemon/store/port.h\"\n")
        write("daemon/pipeline/pipeline.cc",
              "#include \"daemon/decision/service.h\"\n#include <librdkafka/rdkafkacpp.h>\n")
        write("daemon/tactd/main.cc", "#include \"daemon/pipeline/pipeline.h\"\n")
        write("daemon/pipeline/pipeline.h", "#pragma once\n")
        assert check(root) == [], check(root)

        write("daemon/pipeline/bad.cc", "#include \"daemon/store/port.h\"\n\n#include <hiredis/hiredis.h>\n")
        write("daemon/core/bad.h", "#include \"daemon/decision/service.h\"\n")
        write("daemon/extra/x.cc", "")
        problems = check(root)
        expected = ["daemon/core/bad.h:1: core may not include daemon/decision/service.h",
                    "daemon/extra/: not declared",
                    "daemon/pipeline/bad.cc:1: pipeline may not include daemon/store/port.h",
                    "daemon/pipeline/bad.cc:3: pipeline may not include <hiredis/hiredis.h>"]
        for want in expected:
            assert any(p.startswith(want) for p in problems), (want, problems)
        assert len(problems) == len(expected), problems

        write("daemon/CMakeLists.txt", "tact_part(core DEPS store)\ntact_part(store DEPS core)\n")
        assert any("cycle" in p for p in check(root)), check(root)
    print("check_includes self-test: ok")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    problems = check(argv[1])
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} include(s) break the layering in daemon/CMakeLists.txt", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
