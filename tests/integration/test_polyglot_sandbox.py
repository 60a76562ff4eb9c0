"""MultiPL-E programs in every installed language, compiled and run in the bubblewrap sandbox.

The data has no reference solutions, so each language gets hand-written bodies for two real
items, with the items' own prompts and tests: HumanEval_23 strlen, right through both
completion paths (a base-model continuation and a chat answer) and wrong by one, and
HumanEval_30 get_positive (a vector / slice / list in each harness), right and wrong; a wrong
body compiles and runs but fails the tests. Then hostile programs per language: a connection
to a socket listening on the host, a write outside the sandbox, a fork bomb, and for C++ a
compile that never ends. Each must be contained, and must have compiled (a hostile program that
fails to build proves nothing). A language whose toolchain is missing is skipped with the
reason.
"""

from __future__ import annotations

import socket
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from sandbox_procs import sandbox_pids

from shootout.benchmarks.multipl_e import build_program, chat_completion, cut
from shootout.data.files import read_jsonl
from shootout.scoring.polyglot import (
    LANGUAGES,
    limits_for,
    make_sandbox,
    missing_tools,
    run_program,
)
from shootout.scoring.sandbox import Limits, Sandbox

REPO = Path(__file__).resolve().parents[2]

# strlen, right: a body that continues the item's prompt up to (not including) its stop token
STRLEN = {
    "cpp": "\n    return string.size();\n",
    "go": "\n    return len(myString)\n}\n",
    "java": "\n        return string.length();\n",
    "js": "\n  return string.length;\n}\n",
    "rs": "\n    string.len() as isize\n",
    "ts": "\n  return string.length;\n}\n",
}
# ...and wrong by one
WRONG = {
    "cpp": "\n    return string.size() + 1;\n",
    "go": "\n    return len(myString) + 1\n}\n",
    "java": "\n        return string.length() + 1;\n",
    "js": "\n  return string.length + 1;\n}\n",
    "rs": "\n    string.len() as isize + 1\n",
    "ts": "\n  return string.length + 1;\n}\n",
}

# get_positive (HumanEval_30), right and wrong (keeps 0): vectors, slices, lists in each harness
POSITIVE = {
    "cpp": "\n    std::vector<long> out;\n    for (long x : l) if (x > 0) out.push_back(x);\n"
           "    return out;\n",
    "go": "\n    out := []int{}\n    for _, x := range l {\n        if x > 0 {\n"
          "            out = append(out, x)\n        }\n    }\n    return out\n}\n",
    "java": "\n        ArrayList<Long> out = new ArrayList<Long>();\n"
            "        for (Long x : l) if (x > 0) out.add(x);\n        return out;\n",
    "js": "\n  return l.filter((x) => x > 0);\n}\n",
    "rs": "\n    l.into_iter().filter(|x| *x > 0).collect()\n",
    "ts": "\n  return l.filter((x) => x > 0);\n}\n",
}
POSITIVE_WRONG = {k: v.replace("> 0", ">= 0") for k, v in POSITIVE.items()}

MARK = "SHOOTOUT-ESCAPED"

NET = {
    "cpp": """#include <cstdio>
#include <arpa/inet.h>
#include <sys/socket.h>
int main() {{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{{}}; a.sin_family = AF_INET; a.sin_port = htons({port});
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(s, (sockaddr*)&a, sizeof a) == 0) {{ puts("{mark}"); return 0; }}
    perror("connect"); return 1;
}}
""",
    "go": """package main_test
import ("fmt"; "net"; "testing")
func TestNet(t *testing.T) {{
    c, err := net.Dial("tcp", "127.0.0.1:{port}")
    if err != nil {{ t.Fatal(err) }}
    c.Close(); fmt.Println("{mark}")
}}
""",
    "java": """class Problem {{
    public static void main(String[] args) throws Exception {{
        new java.net.Socket("127.0.0.1", {port}).close();
        System.out.println("{mark}");
    }}
}}
""",
    "js": """const s = require('net').connect({port}, '127.0.0.1', () => {{
  console.log('{mark}'); process.exit(0); }});
s.on('error', (e) => {{ console.error(e.message); process.exit(1); }});
""",
    "rs": """fn main() {{
    std::net::TcpStream::connect("127.0.0.1:{port}").unwrap();
    println!("{mark}");
}}
""",
    "ts": """declare var require: any; declare var process: any;
const s = require('net').connect({port}, '127.0.0.1', () => {{
  console.log('{mark}'); process.exit(0); }});
s.on('error', (e: any) => {{ console.error(e.message); process.exit(1); }});
""",
}

WRITE = {
    "cpp": """#include <cstdio>
int main() {{
    FILE* f = fopen("{path}", "w");
    if (!f) {{ perror("fopen"); return 1; }}
    fputs("x", f); fclose(f); puts("{mark}"); return 0;
}}
""",
    "go": """package main_test
import ("fmt"; "os"; "testing")
func TestWrite(t *testing.T) {{
    if err := os.WriteFile("{path}", []byte("x"), 0644); err != nil {{ t.Fatal(err) }}
    fmt.Println("{mark}")
}}
""",
    "java": """class Problem {{
    public static void main(String[] args) throws Exception {{
        java.nio.file.Files.writeString(java.nio.file.Path.of("{path}"), "x");
        System.out.println("{mark}");
    }}
}}
""",
    "js": """require('fs').writeFileSync('{path}', 'x'); console.log('{mark}');
""",
    "rs": """fn main() {{
    std::fs::write("{path}", "x").unwrap();
    println!("{mark}");
}}
""",
    "ts": """declare var require: any;
require('fs').writeFileSync('{path}', 'x'); console.log('{mark}');
""",
}

FORK = {
    "cpp": """#include <unistd.h>
int main() { while (true) fork(); }
""",
    "go": """package main_test
import ("os"; "os/exec"; "testing")
func TestFork(t *testing.T) {
    for { exec.Command(os.Args[0]).Start() }
}
""",
    "java": """class Problem {
    public static void main(String[] args) {
        while (true) {
            try { new ProcessBuilder("/bin/sh", "-c", "sleep 60").start(); }
            catch (Exception e) { }
        }
    }
}
""",
    "js": """const cp = require('child_process');
while (true) { try { cp.spawn(process.execPath, [__filename], {stdio: 'ignore'}); } catch (e) {} }
""",
    "rs": """fn main() {
    let me = std::env::current_exe().unwrap();
    loop { let _ = std::process::Command::new(&me).spawn(); }
}
""",
    "ts": """declare var require: any; declare var process: any; declare var __filename: any;
const cp = require('child_process');
while (true) { try { cp.spawn(process.execPath, [__filename], {stdio: 'ignore'}); } catch (e) {} }
""",
}

# constexpr evaluation with no memoisation: GCC grinds for hours before its ops limit
# Each static_assert runs g++'s constexpr evaluator to its operation limit (2**25 ops,
# about 5-15 s on these machines) and g++ goes on to the next one, so six of them take
# far longer than the test's 8 s limit on any machine, in ~1.2 GB. A single recursive
# fib(90) ended with "evaluation operation count exceeds limit" in under 7 s on a fast
# CI machine: a compile error, not a timeout.
LONG_COMPILE = """constexpr unsigned long spin(unsigned long k) {
  unsigned long x = k;
  for (unsigned long i = 0; i < 100000; ++i)
    for (unsigned long j = 0; j < 100000; ++j) x = x * 31 + j;
  return x;
}
"""
LONG_COMPILE += "".join(f'static_assert(spin({k}) != 0, "");\n' for k in range(1, 7))
LONG_COMPILE += "int main() { return 0; }\n"


def _strlen_item(key: str, data_dir: Path, name: str = "HumanEval_23_strlen") -> dict:
    path = data_dir / "multipl_e_humaneval" / f"humaneval-{key}.jsonl"
    for _, r in read_jsonl(path):
        if r["name"] == name:
            return {"name": r["name"], "language": key, "prompt": r["prompt"],
                    "tests": r["tests"], "stop_tokens": r["stop_tokens"]}
    raise AssertionError(f"{name} not in {path}")


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    box = make_sandbox()
    box.check_available()
    return box


def _language(key: str):
    lang = LANGUAGES[key]
    why = missing_tools(lang)
    if why:
        pytest.skip(why)
    return lang


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(LANGUAGES))
def test_right_programs_pass_and_wrong_ones_fail(key: str, sandbox: Sandbox,
                                                  data_dir: Path) -> None:
    lang = _language(key)
    item = _strlen_item(key, data_dir)
    close = "" if STRLEN[key].endswith("}\n") else "}\n"
    if key == "java":  # a chat answer repeats the class around the method
        close = "    }\n}\n"
    chat = f"Here you go:\n```\n{item['prompt']}{STRLEN[key]}{close}```\nDone."
    programs = {
        "base": build_program(item, cut(STRLEN[key] + item["stop_tokens"][0] + " more",
                                        item["stop_tokens"])),
        "chat": build_program(item, chat_completion(chat, item["prompt"], item["stop_tokens"])),
        "wrong": build_program(item, WRONG[key]),
    }
    positive = _strlen_item(key, data_dir, "HumanEval_30_get_positive")
    programs["positive"] = build_program(positive, POSITIVE[key])
    programs["positive_wrong"] = build_program(positive, POSITIVE_WRONG[key])
    results = {name: run_program(sandbox, lang, code) for name, code in programs.items()}
    assert results["base"].ok, (results["base"].reason, results["base"].result.stderr[-800:])
    assert results["chat"].ok, (results["chat"].reason, results["chat"].result.stderr[-800:])
    assert results["positive"].ok, (results["positive"].reason,
                                    results["positive"].result.stderr[-800:])
    for name in ("wrong", "positive_wrong"):
        wrong = results[name]  # runs and fails its tests (C++'s assert aborts: "killed")
        assert wrong.status in ("failed", "killed"), (name, wrong.status, wrong.reason)
        text = wrong.result.stderr + wrong.result.stdout
        assert "ssert" in text or "FAIL" in text, (name, wrong.reason)
    _nothing_left_running()


def _contained(key: str, sandbox: Sandbox, code: str, limits: Limits | None = None):
    outcome = run_program(sandbox, LANGUAGES[key], code, limits)
    assert outcome.status != "compile_error", outcome.result.stderr[-800:]
    assert not outcome.ok and MARK not in outcome.result.stdout, outcome
    return outcome


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(LANGUAGES))
def test_hostile_programs_are_contained(key: str, sandbox: Sandbox) -> None:
    _language(key)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.2)
        port = server.getsockname()[1]
        _contained(key, sandbox, NET[key].format(port=port, mark=MARK))
        with pytest.raises(TimeoutError):
            server.accept()

    target = REPO / f"sandbox-escape-{uuid.uuid4().hex}"
    _contained(key, sandbox, WRITE[key].format(path=target, mark=MARK))
    assert not target.exists()

    start = time.monotonic()
    # every language's bomb runs to the time limit: 10 s (it was 20: the same outcome, 60 s
    # more of the suite)
    bomb = _contained(key, sandbox, FORK[key], replace(limits_for(LANGUAGES[key]), timeout=10))
    # the JVM reports the thread it could not start as an OutOfMemoryError
    assert bomb.status in ("timeout", "killed", "failed", "oom"), bomb
    assert time.monotonic() - start < 20
    _nothing_left_running()


def _nothing_left_running() -> None:
    deadline = time.monotonic() + 5
    while sandbox_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sandbox_pids() == [], "sandboxed processes outlived their run"


@pytest.mark.slow
def test_a_compile_that_never_ends_is_killed(sandbox: Sandbox) -> None:
    _language("cpp")
    limits = Limits(timeout=8, memory_mb=2048, tmp_mb=256, max_procs=128)
    start = time.monotonic()
    outcome = run_program(sandbox, LANGUAGES["cpp"], LONG_COMPILE, limits)
    assert outcome.status == "timeout", outcome
    assert time.monotonic() - start < 15
    _nothing_left_running()


def test_a_missing_toolchain_is_named_with_its_package() -> None:
    fake = replace(LANGUAGES["rs"], tools=("/usr/bin/no-such-rustc",))
    why = missing_tools(fake)
    assert why is not None and "/usr/bin/no-such-rustc" in why
    assert "apt-get install rustc" in why


@pytest.mark.slow
@pytest.mark.parametrize(("key", "code", "says"), [
    ("cpp", "int main() { return y; }\n", "error: ‘y’ was not declared"),
    ("ts", "let x: number = 'a';\n", "error TS2322"),
    ("go", "package main_test\nfunc f() { return 1 }\n", "command-line-arguments"),
])
def test_a_compile_error_is_told_apart(key: str, code: str, says: str, sandbox: Sandbox) -> None:
    _language(key)
    outcome = run_program(sandbox, LANGUAGES[key], code)
    assert outcome.status == "compile_error" and says in outcome.reason, outcome


def test_unsafe_exec_compiles_in_a_fresh_temp_dir(data_dir: Path) -> None:
    """--unsafe-exec drops bwrap: the driver then works in the launcher's temp dir, never in a
    fixed host path two runs could share."""
    _language("js")
    item = _strlen_item("js", data_dir)
    unsafe = make_sandbox(unsafe=True)
    probe = "console.log(process.cwd());\n"
    first, second = (run_program(unsafe, LANGUAGES["js"], probe) for _ in range(2))
    assert first.ok and second.ok
    assert first.result.stdout != second.result.stdout
    assert not Path(first.result.stdout.strip()).exists()  # removed with the temp dir
    assert run_program(unsafe, LANGUAGES["js"], build_program(item, STRLEN["js"])).ok
