"""The same ARC-Easy items through lm-evaluation-harness and through shootout: time and agreement.

    .venv/bin/python benchmarks/vs_lm_eval.py --lm-eval-python /path/to/venv-lmeval/bin/python
        [--items 20] [--threads 1] [--seed 1234] [--json OUT] [--keep DIR]

lm-eval lives in a virtual environment of its own (`pip install lm-eval`; it pulls torch), named by
--lm-eval-python. Four paths score the same items (shootout's seeded `--limit` sample of the
ARC-Easy test split under --seed, matched by ARC item id), each a fresh command timed end to end
(start-up included, no response cache):
  lm-eval via server    `lm_eval --model gguf` against `python -m llama_cpp.server` on the
                        embedded GGUF (completions with echo + logprobs, one request per choice)
  shootout via server   `shootout run -m openai:... --base-url ... -M logprobs=true`, same server
  shootout in-process   `shootout run -m local` (llama-cpp-python in the process; the default
                        fast path: each context evaluated once, its choices continued from it)
  in-process, reference the same with `-M path=reference`: each (context, continuation) evaluated
                        from scratch in one pass, as the server does (llama.cpp's numerics
                        change with the batch shape, so this row separates numerics from prompts)
The server is started once (n_ctx 2048, --threads) and its start-up is not in either wall time.

lm-eval has no network here, so its arc_easy task is copied from the installed package's
`tasks/arc/arc_easy.yaml` with only the data source changed: a JSON file of the chosen items in the
Hugging Face `allenai/ai2_arc` layout (id, question, choices {text, label}, answerKey), passed with
--include_path. The prompt ("Question: {question}\\nAnswer:" and " {choice}") is lm-eval's and
shootout's alike.

Printed: cores and load, versions, then per path the wall time, seconds per item, lm-eval's wall
time as a multiple of this path's, the CPU seconds of the path's commands plus the server's while
they ran (steadier than wall time on a shared machine) and lm-eval's as a multiple of them, acc,
acc_norm, the items whose predicted choice (the argmax of the summed log-probabilities, i.e. acc's
prediction) equals lm-eval's, and the largest |Δ| of a choice's log-likelihood against lm-eval's.
Items that differ are listed with their log-likelihoods.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

from shootout.benchmarks import REGISTRY
from shootout.data import DataDir
from shootout.providers.local import embedded_model_path

TASK = "arc_easy_shootout_items"
LM, SRV, LOCAL, REF = ("lm-eval via server", "shootout via server", "shootout in-process",
                       "in-process, reference")


def children_cpu() -> float:
    """CPU seconds of the child processes waited for so far (not the server, still running)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def process_cpu(pid: int) -> float:
    """CPU seconds of a running process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lm_eval_info(python: str) -> tuple[str, Path]:
    """lm-eval's version and its arc_easy.yaml, from the interpreter that has it installed."""
    code = ("import importlib.metadata as m, lm_eval, os; print(m.version('lm_eval')); "
            "print(os.path.join(os.path.dirname(lm_eval.__file__), 'tasks/arc/arc_easy.yaml'))")
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        sys.exit(f"error: lm-eval is not importable by {python} "
                 f"(python3.11 -m venv DIR && DIR/bin/pip install lm-eval)")
    ver, yaml_path = out.stdout.split()
    return ver, Path(yaml_path)


class Timed:
    """Wall seconds, and CPU seconds of the child commands plus the server's, over a block."""

    def __init__(self, server_pid: int | None = None) -> None:
        self.pid, self.wall, self.cpu = server_pid, 0.0, 0.0

    def _cpu(self) -> float:
        return children_cpu() + (process_cpu(self.pid) if self.pid else 0.0)

    def __enter__(self) -> Timed:
        self._t0, self._c0 = time.perf_counter(), self._cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self._t0, self._cpu() - self._c0


def shootout(*args: str) -> str:
    """Run the shootout CLI in this interpreter; its stdout."""
    done = subprocess.run([sys.executable, "-m", "shootout", *args], capture_output=True,
                          text=True)
    if done.returncode:
        raise SystemExit(f"shootout {args[0]} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def shootout_run(models: list[str], items: int, seed: int, store: Path,
                 server_pid: int | None = None) -> tuple[Timed, dict[str, list[float]]]:
    """`shootout run` on arc_easy, timed; each item's choice log-likelihoods (from its export)."""
    with Timed(server_pid) as timed:
        printed = shootout(
            "run", *models, "-b", "arc_easy", "--limit", str(items), "--seed", str(seed),
            "--scoring", "loglikelihood", "--store", str(store), "--cache", "off",
            "--no-progress", "--json")
    out = store.with_suffix(".jsonl")
    run_id = json.loads(printed)["run_id"]
    shootout("export", run_id, "--store", str(store), "-o", str(out))
    lls = {}
    for line in out.read_text().splitlines():
        row = json.loads(line)
        if row["status"] != "ok":
            raise SystemExit(f"shootout sample {row['item_id']} failed: {row['error']}")
        lls[row["item_id"]] = [float(x) for x in json.loads(row["output"])]
    return timed, lls


def write_task(template: Path, docs: list[dict[str, Any]], tmp: Path) -> Path:
    """lm-eval's arc_easy task with the data read from a local JSON file of `docs`."""
    data = tmp / "arc_easy_items.jsonl"
    data.write_text("".join(json.dumps(d) + "\n" for d in docs))
    cfg = yaml.safe_load(template.read_text())
    for key in ("tag", "dataset_name", "training_split", "validation_split"):
        cfg.pop(key, None)
    cfg.update(task=TASK, dataset_path="json", test_split="test",
               dataset_kwargs={"data_files": {"test": str(data)}})
    task_dir = tmp / "tasks"
    task_dir.mkdir()
    (task_dir / f"{TASK}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return task_dir


def hub_docs(ids: list[str], data: DataDir) -> list[dict[str, Any]]:
    """The items as allenai/ai2_arc rows (labels A, B, ...: the target is an index either way)."""
    by_id = {d.id: d.fields for d in REGISTRY["arc_easy"](data=data).load()}
    out = []
    for i in ids:
        f = by_id[i]
        labels = [chr(65 + k) for k in range(len(f["choices"]))]
        out.append({"id": i, "question": f["question"],
                    "choices": {"text": f["choices"], "label": labels},
                    "answerKey": labels[f["gold"]]})
    return out


class Server:
    """`python -m llama_cpp.server` on the embedded GGUF, on a free port of 127.0.0.1."""

    def __init__(self, threads: int, log: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_model_path()),
             "--n_ctx", "2048", "--host", "127.0.0.1", "--port", str(self.port),
             "--n_threads", str(threads), "--n_threads_batch", str(threads)],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/v1/models", timeout=5).read()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise SystemExit(f"llama_cpp.server did not start; see {log}") from None
                time.sleep(0.5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.proc.terminate()  # uvicorn finishes the request in flight first, if it can
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def lm_eval_run(python: str, server: Server, task_dir: Path, tmp: Path) -> tuple[
        Timed, dict[str, list[float]]]:
    """lm-eval's gguf model on the local task, timed; per-item log-likelihoods."""
    out = tmp / "lm_eval_out"
    env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="0")
    cmd = [python, "-m", "lm_eval", "--model", "gguf", "--model_args", f"base_url={server.url}",
           "--tasks", TASK, "--include_path", str(task_dir), "--batch_size", "1",
           "--log_samples", "--output_path", str(out)]
    with Timed(server.proc.pid) as timed:
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    files = sorted(out.rglob(f"samples_{TASK}_*.jsonl"))
    if not files:
        raise SystemExit(f"lm-eval wrote no samples under {out}")
    lls = {}
    for line in files[-1].read_text().splitlines():
        row = json.loads(line)
        lls[row["doc"]["id"]] = [float(r[0][0]) for r in row["resps"]]
    return timed, lls


def scores(lls: dict[str, list[float]], docs: dict[str, dict[str, Any]]) -> tuple[float, float]:
    """acc and acc_norm (log-likelihood / characters of the choice text), lm-eval's definitions."""
    acc = norm = 0
    for i, ll in lls.items():
        texts, gold = docs[i]["choices"]["text"], docs[i]["choices"]["label"].index(
            docs[i]["answerKey"])
        acc += int(max(range(len(ll)), key=ll.__getitem__) == gold)
        normed = [x / len(t) for x, t in zip(ll, texts, strict=True)]
        norm += int(max(range(len(ll)), key=normed.__getitem__) == gold)
    return acc / len(lls), norm / len(lls)


def agreement(a: dict[str, list[float]], ref: dict[str, list[float]]) -> tuple[
        int, float, list[str]]:
    """Items with `ref`'s argmax, the largest |Δ log-likelihood|, the items that differ."""
    same, diff, differ = 0, 0.0, []
    for i, r in ref.items():
        x = a[i]
        if max(range(len(x)), key=x.__getitem__) == max(range(len(r)), key=r.__getitem__):
            same += 1
        else:
            differ.append(i)
        diff = max(diff, *(abs(p - q) for p, q in zip(x, r, strict=True)))
    return same, diff, differ


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--lm-eval-python", required=True, help="python of a venv with lm-eval")
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads, both sides")
    ap.add_argument("--seed", type=int, default=1234, help="shootout's sampling seed")
    ap.add_argument("--json", help="write the results here as JSON")
    ap.add_argument("--keep", help="keep the work files (stores, lm-eval output) in this folder")
    args = ap.parse_args()
    lm_ver, template = lm_eval_info(args.lm_eval_python)
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    data = DataDir(Path(os.environ.get("SHOOTOUT_DATA", default)))
    os.environ.setdefault("SHOOTOUT_DATA", str(data.root))
    os.environ.setdefault("OPENAI_API_KEY", "none")
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="vs_lm_eval-"))
    tmp.mkdir(parents=True, exist_ok=True)
    th, n = args.threads, args.items
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
          f"llama.cpp threads {th}; Python {platform.python_version()}; lm-eval {lm_ver}, "
          f"llama-cpp-python {version('llama-cpp-python')}, shootout {version('shootout')}",
          flush=True)

    times: dict[str, Timed] = {}
    lls: dict[str, dict[str, list[float]]] = {}
    local = ["-m", "local", "-M", f"n_threads={th}"]
    times[LOCAL], lls[LOCAL] = shootout_run(local, n, args.seed, tmp / "local.sqlite")
    times[REF], lls[REF] = shootout_run([*local, "-M", "path=reference"], n, args.seed,
                                        tmp / "reference.sqlite")
    docs = hub_docs(list(lls[LOCAL]), data)
    task_dir = write_task(template, docs, tmp)
    server = Server(th, tmp / "server.log")
    try:
        print(f"server {server.url}; lm-eval on {n} items", flush=True)
        times[LM], lls[LM] = lm_eval_run(args.lm_eval_python, server, task_dir, tmp)
        print(f"lm-eval took {times[LM].wall:.1f} s; shootout via the server", flush=True)
        times[SRV], lls[SRV] = shootout_run(
            ["-m", "openai:gemma-3-270m", "--base-url", f"{server.url}/v1",
             "-M", "logprobs=true", "-M", "concurrency=1", "-M", "timeout=1800"],
            n, args.seed, tmp / "server.sqlite", server.proc.pid)
    finally:
        server.close()
    load = os.getloadavg()[0]

    by_id = {d["id"]: d for d in docs}
    ref = lls[LM]
    rows = []
    print(f"\nARC-Easy, {n} items (seed {args.seed}); load average {load:.2f} at the end; "
          "CPU s: the commands' and the server's")
    print(f"{'path':<22} {'wall s':>8} {'s/item':>7} {'LM/this':>8} {'CPU s':>8} "
          f"{'LM/this':>8} {'acc':>5} {'acc_norm':>8} {'same as lm-eval':>15} {'max |Δ ll|':>10}")
    for path in (LM, SRV, LOCAL, REF):
        t = times[path]
        acc, norm = scores(lls[path], by_id)
        same, diff, differ = agreement(lls[path], ref)
        rows.append({"path": path, "wall_s": t.wall, "cpu_s": t.cpu, "acc": acc,
                     "acc_norm": norm, "same_prediction": same, "max_abs_diff": diff,
                     "differ": differ})
        print(f"{path:<22} {t.wall:>8.1f} {t.wall / n:>7.2f} {times[LM].wall / t.wall:>7.1f}x "
              f"{t.cpu:>8.1f} {times[LM].cpu / t.cpu:>7.1f}x {acc:>5.2f} {norm:>8.2f} "
              f"{same:>9}/{n:<5} {diff:>10.4f}")
    for r in rows:
        for i in r["differ"]:
            print(f"  {r['path']}: {i} differs: "
                  f"{[round(x, 3) for x in lls[r['path']][i]]} vs lm-eval "
                  f"{[round(x, 3) for x in ref[i]]}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"items": n, "seed": args.seed, "threads": th, "cores": os.cpu_count(),
             "lm_eval": lm_ver, "llama_cpp_python": version("llama-cpp-python"), "paths": rows,
             "loglikelihoods": lls}, indent=1))
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
