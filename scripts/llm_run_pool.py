#!/usr/bin/env python3
"""llm-run without a process per run, for scripts that run it thousands of
times (the fuzzers): worker processes that import the llmc Python package
and call llm-run's own body (llmc._llmc._llm_run: llmRunMain, the code the
llm-run executable runs after InitLLVM) once per request.

    pool = LLMRunPool(llm_run="build/bin/llm-run", workers=2)
    result = pool.run(["model.onnx", "--input", "x=x.npy"], timeout=600)
    result.returncode, result.stdout, result.stderr   # as subprocess.run's
    pool.close()

A run in a worker prints into files that become the result's stdout and
stderr. A tool process starts in about 85 ms of CPU on a 2-core machine
(relocating libMLIR and libLLVM), more than compiling and running a small
model takes; a worker pays it once.

A request whose worker crashes or does not answer within its timeout runs
again as a process of the `llm_run` executable, so that its exit code, its
message or its timeout are the tool's; the next request gets a new worker.
run() may be called from several threads: each takes an idle worker.
"""
import json
import os
import queue
import select
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_llmc():
    """The llmc package: on sys.path, else the build's (build/python)."""
    try:
        import llmc
    except ImportError:
        sys.path.insert(0, os.path.join(ROOT, "build", "python"))
        import llmc
    return llmc


def run_llm_run(llm_run, args, timeout, pool=None):
    """The CompletedProcess (text) of `llm_run` on `args`: in `pool`'s
    workers when there is one, else as a process."""
    if pool is not None:
        return pool.run(args, timeout)
    return subprocess.run([llm_run] + args, capture_output=True, text=True,
                          errors="replace", timeout=timeout)


class _Worker:
    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)

    def run(self, argv, timeout):
        """(returncode, stdout, stderr), or None when the worker died or
        timed out (it is then killed)."""
        try:
            self.process.stdin.write(json.dumps(argv) + "\n")
            self.process.stdin.flush()
            ready, _, _ = select.select([self.process.stdout], [], [], timeout)
            line = self.process.stdout.readline() if ready else ""
        except OSError:
            line = ""
        if not line:
            self.close()
            return None
        answer = json.loads(line)
        return answer["returncode"], answer["stdout"], answer["stderr"]

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class LLMRunPool:
    def __init__(self, llm_run, workers=2):
        import_llmc()  # fails here, not in every worker, when it is missing
        self.llm_run = llm_run
        self.idle = queue.Queue()
        for _ in range(max(1, workers)):
            self.idle.put(None)  # a worker is started on first use
        self.fallbacks = 0

    def run(self, args, timeout=600):
        """subprocess.run([llm_run] + args)'s CompletedProcess (text mode)."""
        worker = self.idle.get()
        try:
            if worker is None:
                worker = _Worker()
            answer = worker.run([self.llm_run] + args, timeout)
            if answer is None:
                worker = None
                self.fallbacks += 1
                return run_llm_run(self.llm_run, args, timeout)
            return subprocess.CompletedProcess([self.llm_run] + args, *answer)
        finally:
            self.idle.put(worker)

    def close(self):
        while not self.idle.empty():
            worker = self.idle.get()
            if worker is not None:
                worker.process.stdin.close()
                worker.close()


def serve():
    """--serve: one llm-run per JSON line of its argv on stdin, answered
    with one JSON line {returncode, stdout, stderr} on (a copy of) stdout;
    file descriptors 1 and 2 are a request's output files while it runs."""
    answers = os.fdopen(os.dup(1), "w")
    from llmc import _llmc  # noqa: E402 (after import_llmc's path)

    for line in sys.stdin:
        argv = json.loads(line)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            returncode = _llmc._llm_run(argv)
            texts = []
            for f in (out, err):
                f.seek(0)
                texts.append(f.read().decode("utf-8", "replace"))
        answers.write(json.dumps({"returncode": returncode, "stdout": texts[0],
                                  "stderr": texts[1]}) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["--serve"]:
        print("usage: llm_run_pool.py --serve (a worker of LLMRunPool)", file=sys.stderr)
        sys.exit(2)
    import_llmc()
    sys.exit(serve())
