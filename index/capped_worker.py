"""Capped workers: work on untrusted input (reading a PDF, extracting a web page's text) runs in a
child process with a memory, CPU-time and wall-time limit, so that no input can hang the bot, the
command line or a feed check, or take it down.

``run()`` hands the input to a *zygote*: a Python process, started the first time one is needed,
that imports each task's module once and then forks a fresh child for every input. The child lowers
its limits, calls the task and writes back its answer as JSON; the zygote, single-threaded, reads it
and the child's exit status and passes them on: a fork is far cheaper than a new interpreter
importing trafilatura or pdfminer. Idle zygotes are kept for the next call (``MAX_IDLE``), and a
call that finds none idle starts one, so calls from several threads run at once.

A task raises ``Refused`` with a one-line reason for the user. Running out of memory, CPU time or
wall time reaches the caller as ``Refused`` with a one-line reason too; any other failure is logged
and refused as "could not be read". Nothing the child or a library prints reaches the caller's output.
"""

import atexit
import importlib
import json
import logging
import os
import resource
import select
import signal
import subprocess
import sys
import threading
import warnings
from pathlib import Path

#: The limits of one task unless the caller sets others: address space (bytes) and CPU seconds; the
#: wall time allowed is twice the CPU time and 5 s more (a task may wait, never for long).
MEMORY_BYTES = 1024**3
CPU_SECONDS = 10
#: How many idle zygotes are kept for later calls.
MAX_IDLE = 2

log = logging.getLogger(__name__)
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
_idle: list[subprocess.Popen] = []
_idle_lock = threading.Lock()


class Refused(Exception):
    """The input cannot be used; the message says why in one line."""


def wall_seconds(cpu_seconds: int) -> int:
    """The wall time a task with this much CPU time may take."""
    return 2 * cpu_seconds + 5


def run(
    task: str,
    data: bytes | str,
    *,
    what: str,
    memory_bytes: int | None = None,
    cpu_seconds: int | None = None,
    fields: list[str] | None = None,
    **arguments,
):
    """The answer of ``task(data, **arguments)``, run in a capped child process.

    :param task: ``"module:function"``; the function returns a JSON value, or an object whose
        ``fields`` are sent back as a dict (None stays None).
    :param what: the input in words, for the reasons ("the PDF": "reading the PDF took ...").
    :param memory_bytes: the child's address space limit (None: ``MEMORY_BYTES``).
    :param cpu_seconds: the child's CPU time limit (None: ``CPU_SECONDS``); its wall time limit is
        ``wall_seconds()`` of it.
    :param fields: the attributes of the task's answer to send back, or None for the answer itself.
    :raises Refused: the task refused the input, or the child ran out of memory or time, or failed.
    """
    memory_bytes = memory_bytes or MEMORY_BYTES
    cpu_seconds = cpu_seconds or CPU_SECONDS
    request = {
        "task": task, "arguments": arguments, "fields": fields, "text": isinstance(data, str),
        "memory": memory_bytes, "cpu": cpu_seconds, "wall": wall_seconds(cpu_seconds),
    }
    body = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    zygote = _borrow()
    try:
        _send(zygote.stdin.fileno(), json.dumps(request).encode(), body)
        answer = json.loads(_receive(zygote.stdout.fileno(), wall_seconds(cpu_seconds) + 10))
    except (OSError, ValueError, TimeoutError) as error:
        zygote.kill()
        _close(zygote)
        log.warning("the worker for %s stopped: %s", task, error or type(error).__name__)
        raise Refused(f"{what} could not be read (the reader stopped; see the log)") from None
    _give_back(zygote)
    if "answer" in answer:
        return answer["answer"]
    if "refused" in answer:
        raise Refused(answer["refused"])
    if "memory" in answer:
        raise Refused(f"reading {what} needs more than {memory_bytes // 2**20:,} MB of memory")
    if answer.get("stopped") == signal.SIGXCPU:
        raise Refused(f"reading {what} took more than {cpu_seconds} s of CPU time")
    if answer.get("stopped") == signal.SIGALRM:
        raise Refused(f"reading {what} took longer than {wall_seconds(cpu_seconds)} s")
    log.warning("the worker for %s failed: %s", task, answer)
    raise Refused(f"{what} could not be read (the reader stopped; see the log)")


# --- the caller's side: zygotes, and frames on their pipes ----------------------------------------


def _borrow() -> subprocess.Popen:
    """An idle zygote, or a new one."""
    with _idle_lock:
        while _idle:
            zygote = _idle.pop()
            if zygote.poll() is None:
                return zygote
            _close(zygote)
    path = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
    # one thread in the zygote, so that forking it is safe: no BLAS or OpenMP thread pools
    threads = {name: "1" for name in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"]}
    return subprocess.Popen(
        [sys.executable, "-c", "from qabot.index.capped_worker import main; main()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **threads, "PYTHONPATH": path},
    )


def _give_back(zygote: subprocess.Popen) -> None:
    with _idle_lock:
        if len(_idle) < MAX_IDLE:
            _idle.append(zygote)
            return
    _close(zygote)


def _close(zygote: subprocess.Popen) -> None:
    zygote.stdin.close()  # the zygote ends at the end of its input
    zygote.stdout.close()
    zygote.wait()


@atexit.register
def _close_idle() -> None:
    with _idle_lock:
        while _idle:
            _close(_idle.pop())


def _send(fd: int, *parts: bytes) -> None:
    """Write each part with its length before it."""
    for part in parts:
        _write(fd, len(part).to_bytes(8, "big") + part)


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _receive(fd: int, seconds: float | None = None) -> bytes:
    """One part written by ``_send``, waiting at most ``seconds`` for each piece of it."""
    size = int.from_bytes(_read(fd, 8, seconds), "big")
    return _read(fd, size, seconds)


def _read(fd: int, size: int, seconds: float | None) -> bytes:
    out = bytearray()
    while len(out) < size:
        if seconds is not None and not select.select([fd], [], [], seconds)[0]:
            raise TimeoutError(f"no answer in {seconds} s")
        piece = os.read(fd, min(size - len(out), 1 << 20))
        if not piece:
            raise OSError("the pipe was closed")
        out += piece
    return bytes(out)


# --- the zygote's side ------------------------------------------------------------------------------


def _serve(requests: int, answers: int) -> None:
    """Answer requests until the input ends: fork a child for each, pass on what it says."""
    while True:
        try:
            request = json.loads(_receive(requests))
            data = _receive(requests)
        except OSError:
            return  # the caller is gone
        try:
            module, _, name = request["task"].partition(":")
            task = getattr(importlib.import_module(module), name)  # imported once, here, for every child
        except Exception as error:
            _send(answers, json.dumps({"error": f"{type(error).__name__}: {error}"}).encode())
            continue
        reader, writer = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(reader)
            try:
                _child(task, request, data, writer, closing=[requests, answers])
            finally:
                os._exit(0)
        os.close(writer)
        with os.fdopen(reader, "rb") as said:
            output = said.read()
        status = os.waitpid(child, 0)[1]
        if os.WIFSIGNALED(status):
            answer = {"stopped": os.WTERMSIG(status)}
        else:
            try:
                answer = json.loads(output)
            except ValueError:
                answer = {"error": f"no answer (exit status {os.waitstatus_to_exitcode(status)})"}
        _send(answers, json.dumps(answer).encode())


def _child(task, request: dict, data: bytes, writer: int, *, closing: list[int]) -> None:
    """In the forked child: lower the limits, run the task, write its answer."""
    for fd in closing:
        os.close(fd)
    _limit(resource.RLIMIT_AS, request["memory"])
    _limit(resource.RLIMIT_CPU, request["cpu"])
    _limit(resource.RLIMIT_CORE, 0)  # running out of CPU time dumps no core
    signal.alarm(request["wall"])
    try:
        found = task(data.decode("utf-8", "surrogatepass") if request["text"] else data, **request["arguments"])
        if request["fields"] is not None and found is not None:
            found = {field: getattr(found, field) for field in request["fields"]}
        answer = {"answer": found}
    except Refused as error:
        answer = {"refused": str(error)}
    except MemoryError:
        answer = {"memory": True}
    except Exception as error:
        answer = {"error": f"{type(error).__name__}: {error}"}
    _write(writer, json.dumps(answer).encode())


def _limit(kind: int, value: int) -> None:
    """Lower a resource limit of this process to ``value`` (or to the hard limit, if lower)."""
    hard = resource.getrlimit(kind)[1]
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(kind, (value, hard))


def main() -> None:
    """The zygote: requests on standard input, answers on standard output; what the tasks and their
    libraries print or log goes nowhere."""
    requests, answers = os.dup(0), os.dup(1)
    nowhere = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(nowhere, fd)
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    _serve(requests, answers)
