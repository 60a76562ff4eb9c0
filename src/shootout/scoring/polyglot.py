"""Compile and run programs in C++, Go, JavaScript, Rust, Java and TypeScript in the sandbox.

Each program runs as a whole (compile, then run) inside the same bubblewrap sandbox as Python
(`shootout.scoring.sandbox`): a small Python driver is the sandboxed program; it writes the
source into the private /tmp, runs the compiler there and then execs the binary, so compile time
counts against the same wall clock, CPU, memory and process limits as the run. Toolchains are
used from /usr only (the one host tree the sandbox mounts): Debian's g++, golang, nodejs,
rustc, default-jdk-headless + libjavatuples-java and node-typescript. A language whose toolchain is
missing is reported by `missing_tools` and skipped by the caller, never scored as failing.

Commands follow MultiPL-E's evaluators (nuprl/MultiPL-E evaluation/src): `go test` on a
`_test.go` file, `javac` then `java -ea` with javatuples on the class path, `node` for
JavaScript, `tsc --target esnext` then `node` for TypeScript, `g++` and `rustc` then the binary.
"""

from __future__ import annotations

import glob
import json
import os
import re
from dataclasses import dataclass, replace
from typing import Literal

from .sandbox import ExecResult, Limits, Sandbox

# The driver exits with this status when a compile step fails, and says so on stderr.
COMPILE_FAILED = 3
_MARK = "[shootout: compile failed]"

_JAVATUPLES = "/usr/share/java/javatuples.jar"
_JDK_ETC = "/etc/java-*-openjdk"
# The JVM reserves address space by physical RAM (heap, code cache, class space): cap each so
# it starts under RLIMIT_AS; serial GC and C1 only keep its threads and start-up small.
_JVM = ("-Xmx256m", "-Xss8m", "-XX:ReservedCodeCacheSize=64m",
        "-XX:CompressedClassSpaceSize=64m", "-XX:MaxMetaspaceSize=128m", "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData")

Step = tuple[str, ...]


@dataclass(frozen=True)
class Language:
    """How one language is compiled and run: argv templates with {src} and {dir}."""

    key: str  # the MultiPL-E file suffix: cpp, go, js, rs, java, ts
    label: str
    source: str  # file name of the program
    compile: tuple[Step, ...]
    run: Step
    tools: tuple[str, ...]  # absolute paths that must exist
    install: str  # the Debian packages that provide them
    memory_mb: int = 2048
    timeout: float = 30.0  # wall clock for compile + run


LANGUAGES: dict[str, Language] = {
    lang.key: lang
    for lang in (
        Language("cpp", "C++", "main.cpp",
                 (("/usr/bin/g++", "-std=c++17", "-o", "{dir}/main", "{src}"),),
                 ("{dir}/main",), ("/usr/bin/g++",), "g++", timeout=60.0),
        Language("go", "Go", "main_test.go", (),
                 ("/usr/bin/go", "test", "{src}"), ("/usr/bin/go",), "golang",
                 memory_mb=4096),
        Language("js", "JavaScript", "main.js", (),
                 ("/usr/bin/node", "{src}"), ("/usr/bin/node",), "nodejs", memory_mb=8192),
        Language("rs", "Rust", "main.rs",
                 (("/usr/bin/rustc", "-o", "{dir}/main", "{src}"),),
                 ("{dir}/main",), ("/usr/bin/rustc",), "rustc"),
        Language("java", "Java", "Problem.java",
                 (("/usr/bin/javac", *(f"-J{o}" for o in _JVM[:1]), "-encoding", "UTF8",
                   "-cp", _JAVATUPLES, "-d", "{dir}", "{src}"),),
                 ("/usr/bin/java", *_JVM, "-ea", "-cp", f"{{dir}}:{_JAVATUPLES}", "Problem"),
                 ("/usr/bin/javac", "/usr/bin/java", _JAVATUPLES),
                 "default-jdk-headless libjavatuples-java", memory_mb=4096),
        Language("ts", "TypeScript", "main.ts",
                 (("/usr/bin/tsc", "--target", "esnext", "{src}"),),
                 ("/usr/bin/node", "{dir}/main.js"), ("/usr/bin/tsc", "/usr/bin/node"),
                 "node-typescript nodejs", memory_mb=8192),
    )
}

# Runs inside the sandbox (as /sandbox/main.py, under the launcher's rlimits and uid).
_DRIVER = """
import json, os, subprocess, sys
cfg = json.loads({cfg!r})
here = os.getcwd()  # the private /tmp in the sandbox; a fresh temp dir with --unsafe-exec
work = os.path.join(here, "prog")
os.makedirs(work)
src = os.path.join(work, cfg["source"])
with open(src, "w", encoding="utf-8") as f:
    f.write(cfg["code"])
env = dict(os.environ, **{{k: v.replace("{{here}}", here) for k, v in cfg["env"].items()}})
fill = lambda argv: [a.replace("{{src}}", src).replace("{{dir}}", work) for a in argv]
for step in cfg["compile"]:
    done = subprocess.run(fill(step), cwd=work, env=env, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        print({mark!r}, "exit", done.returncode, file=sys.stderr)
        sys.exit({status})
sys.stdout.flush()
run = fill(cfg["run"])
os.execve(run[0], run, env)
"""

# Where compilers keep caches and temp files: the program's working directory (in the
# sandbox the private, size-capped /tmp).
_ENV = {"GOCACHE": "{here}/go-cache", "GOPATH": "{here}/go", "GOFLAGS": "-buildvcs=false",
        "GO111MODULE": "auto", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0",
        "NODE_OPTIONS": "--max-old-space-size=512"}


def make_sandbox(*, unsafe: bool = False, limits: Limits | None = None) -> Sandbox:
    """A sandbox that also sees the JDK's configuration (the JDK's conf/ links into /etc)."""
    return Sandbox(unsafe=unsafe, limits=limits, extra_ro=sorted(glob.glob(_JDK_ETC)))


def missing_tools(lang: Language) -> str | None:
    """Why `lang` cannot run here (None when it can): its tools must be files under /usr."""
    absent = [t for t in lang.tools if not os.path.exists(t)]
    if not absent:
        return None
    return (f"{lang.label} toolchain not found ({', '.join(absent)}); install the Debian "
            f"package(s): apt-get install {lang.install}")


def driver_program(lang: Language, code: str) -> str:
    """The Python program that compiles and runs `code` in the sandbox."""
    cfg = {"source": lang.source, "code": code, "compile": [list(s) for s in lang.compile],
           "run": list(lang.run), "env": _ENV}
    return _DRIVER.format(cfg=json.dumps(cfg), mark=_MARK, status=COMPILE_FAILED)


Verdict = Literal["ok", "compile_error", "failed", "timeout", "killed", "oom", "output_limit",
                  "error"]


@dataclass(frozen=True)
class ProgramResult:
    status: Verdict
    result: ExecResult

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def reason(self) -> str:
        if self.status == "compile_error":
            # tsc and go report on stdout; the first line that says "error" says the most
            text = self.result.stderr + "\n" + self.result.stdout
            lines = [ln.strip() for ln in text.splitlines() if ln.strip() and _MARK not in ln]
            first = next((ln for ln in lines if "error" in ln.lower()), lines[0] if lines else "")
            return f"compile error: {(first or 'no output')[:200]}"
        if self.status == "failed" and not self.result.stderr.strip():
            # go test reports failing tests on stdout
            lines = [ln.strip() for ln in self.result.stdout.splitlines() if ln.strip()]
            return f"exited {self.result.returncode}: {(lines[0] if lines else '')[:200]}"
        return self.result.reason


def limits_for(lang: Language, base: Limits | None = None) -> Limits:
    b = base or Limits()
    return replace(b, timeout=max(b.timeout, lang.timeout), memory_mb=max(b.memory_mb,
                   lang.memory_mb), tmp_mb=max(b.tmp_mb, 256), max_procs=max(b.max_procs, 128))


def run_program(sandbox: Sandbox, lang: Language, code: str,
                limits: Limits | None = None) -> ProgramResult:
    """Compile and run `code` as a `lang` program in `sandbox`."""
    result = sandbox.run(driver_program(lang, code), limits=limits or limits_for(lang))
    if result.status == "failed" and (
        (result.returncode == COMPILE_FAILED and _MARK in result.stderr)
        # go test builds and runs in one step; it marks a build failure on stdout
        or (lang.key == "go" and re.search(r"\[(build|setup) failed\]", result.stdout))
    ):
        return ProgramResult("compile_error", result)
    return ProgramResult(result.status, result)


def available() -> dict[str, str | None]:
    """Every language with the reason it is unavailable (None: it can run)."""
    return {key: missing_tools(lang) for key, lang in LANGUAGES.items()}
