"""Real ``xapian-tcpsrv`` shards for the tests: each on a free loopback port, in its own session.

``xapian-tcpsrv`` signals its whole process group on SIGTERM, so each is started with
``start_new_session=True`` and stopped by its own pid; it listens on 127.0.0.1 only. Tests that need
shards skip, saying why, when the binary (``apt-get install xapian-tools``) or the Python bindings
(``pip install 'qabot[xapian]'``) are missing; with ``QABOT_TESTS_NEED_XAPIAN=1`` (``.ci/run``) they
fail instead, so CI cannot pass without running them.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

BINARY = "xapian-tcpsrv"


def require_xapian() -> None:
    """Skip the test (fail it under ``QABOT_TESTS_NEED_XAPIAN=1``) unless both the server and the
    bindings are installed."""
    missing = pytest.fail if os.environ.get("QABOT_TESTS_NEED_XAPIAN") == "1" else pytest.skip
    if shutil.which(BINARY) is None:
        missing(f"{BINARY} is not installed (apt-get install xapian-tools)")
    try:
        import xapian  # noqa: F401
    except ImportError:
        missing("the Xapian Python bindings are not installed (pip install 'qabot[xapian]')")


def free_port() -> int:
    """A loopback TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Shard:
    """One ``xapian-tcpsrv --writable`` serving a database folder on a loopback port.

    :param folder: the database folder (created when missing; it outlives ``stop``).
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "Shard":
        """Start serving (again, on the same port) and wait until it accepts connections."""
        log = open(self.folder.with_suffix(".log"), "ab")
        self.process = subprocess.Popen(
            [BINARY, "--writable", "--interface", "127.0.0.1", "--port", str(self.port), "--quiet", str(self.folder)],
            stdout=log, stderr=log, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{BINARY} on port {self.port} exited: see {self.folder.with_suffix('.log')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"{BINARY} did not listen on port {self.port}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server by its pid (SIGTERM: it ends the connections it serves too) and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        deadline = time.monotonic() + 5  # its children, serving open connections, end with it
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)


class Shards(list):
    """Running shards; ``url`` is the ``QABOT_INDEX`` naming them in order."""

    @property
    def url(self) -> str:
        return "xapian://" + ",".join(shard.address for shard in self)


def start_shards(folder: Path, n: int) -> Shards:
    """``n`` shards on free loopback ports, serving ``folder/shard1`` … ``folder/shardN``."""
    require_xapian()
    shards = Shards()
    try:
        for i in range(1, n + 1):
            shards.append(Shard(folder / f"shard{i}").start())
    except BaseException:
        for shard in shards:
            shard.stop()
        raise
    return shards
