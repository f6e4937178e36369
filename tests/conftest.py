"""Shared fixtures: a real SQLite store in a temp dir, and the sample collection loaded into one."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# what the code caches (the reader's "hub unreachable" note, Hugging Face files) stays in the run
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="qabot-tests-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)

from qabot.index.importing import import_path  # noqa: E402
from qabot.index.store import Store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLES = ROOT / "examples" / "articles"
#: Material shared beside the checkout (SQuAD slice, a small real QA model); tests skip without it.
SHARED = ROOT.parent / "shared"


@pytest.fixture
def db_path(tmp_path) -> Path:
    """Where a test's collection file lives."""
    return tmp_path / "qabot.db"


@pytest.fixture
def store(db_path):
    """An empty collection in a real SQLite file."""
    with Store(db_path) as store:
        yield store


@pytest.fixture
def sample_store(store):
    """The sample collection from examples/articles, freshly imported."""
    report = import_path(store, SAMPLE_ARTICLES, progress=False)
    assert not report.failed and report.added
    return store


@pytest.fixture
def xapian_shards(tmp_path):
    """Two ``xapian-tcpsrv`` shards on free loopback ports, each in its own session, stopped by pid
    afterwards (the test skips when xapian-tools or the bindings are missing)."""
    from tests.xapian_servers import start_shards

    shards = start_shards(tmp_path / "xapian", 2)
    yield shards
    for shard in shards:
        shard.stop()
