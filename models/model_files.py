"""Model files: where the QA model's tokenizer and weights come from, without hanging on the hub.

A model is a local folder or a Hugging Face hub id. A hub id is looked up in the local Hugging Face
cache first; only when it is not there is the hub asked, once, with a short timeout. A plain
``from_pretrained`` of a hub id that is not cached retries for about 50 s on a machine without
network; here an unreachable hub costs one failed request, and the failure is remembered, for the
process and on disk (``$XDG_CACHE_HOME/qabot/hub-unreachable.json``) for :data:`REMEMBER_SECONDS`,
so the next ``qabot ask`` does not even try. With ``HF_HUB_OFFLINE=1`` (or ``TRANSFORMERS_OFFLINE``)
the hub is never asked.

This module imports huggingface_hub and httpx only; transformers stays in ``models/qa_model.py``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

#: How long a failed attempt to reach the hub is remembered, in seconds.
REMEMBER_SECONDS = 3600.0
#: Seconds to wait for the hub to answer the one request that tells whether it is reachable.
PROBE_TIMEOUT = 3.0
#: Files of a model repository a reader needs: its config and its tokenizer.
CONFIG_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "*.model",
)

_remembered: dict[str, tuple[float, str]] = {}
_lock = threading.Lock()


class ModelUnavailable(OSError):
    """The QA model is neither on disk nor obtainable from the Hugging Face hub right now."""


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` forbids asking the hub (read now)."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def hub_endpoint() -> str:
    """The hub's base URL: ``HF_ENDPOINT`` if set, else huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def state_file() -> Path:
    """Where the last failure to reach the hub is remembered across processes."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "qabot" / "hub-unreachable.json"


def is_local(model: str) -> bool:
    """Whether ``model`` names a folder on disk rather than a hub id."""
    return Path(model).expanduser().is_dir() or model.startswith(("./", "../", "/", "~"))


def cached(model: str) -> bool:
    """Whether a hub id's config is in the local Hugging Face cache (no network, no transformers).

    Lets a missing model fail without importing torch and transformers (seconds on a small machine).
    """
    return cached_folder(model) is not None


def cached_folder(model: str) -> str | None:
    """The local Hugging Face cache's folder of a hub id's files, None when it is not cached."""
    from huggingface_hub import try_to_load_from_cache

    try:
        config = try_to_load_from_cache(model, "config.json")
    except ValueError:  # not a valid repository id
        return None
    return os.path.dirname(config) if isinstance(config, str) else None


def recent_failure(endpoint: str | None = None) -> str | None:
    """Why the hub could not be reached, if that happened less than REMEMBER_SECONDS ago; else None.

    :returns: e.g. ``"https://huggingface.co was unreachable 3 min ago (Name or service not known)"``.
    """
    endpoint = endpoint or hub_endpoint()
    now = time.time()
    with _lock:
        seen = _remembered.get(endpoint)
    if seen is None:
        try:
            stored = json.loads(state_file().read_text(encoding="utf-8"))
            if stored.get("endpoint") == endpoint:
                seen = (float(stored["failed_at"]), str(stored["reason"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
    if seen is None or not 0 <= now - seen[0] < REMEMBER_SECONDS:
        return None
    minutes = max(1, round((now - seen[0]) / 60))
    return (f"{endpoint} was unreachable when qabot last tried, {minutes} min ago ({seen[1]}); "
            f"it tries again {round(REMEMBER_SECONDS / 60)} min after that")


def remember_failure(reason: str, endpoint: str | None = None) -> None:
    """Record that the hub could not be reached, for this process and on disk (best effort)."""
    endpoint = endpoint or hub_endpoint()
    now = time.time()
    with _lock:
        _remembered[endpoint] = (now, reason)
    path = state_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(
            json.dumps({"endpoint": endpoint, "failed_at": now, "reason": reason}), encoding="utf-8"
        )
        tmp.replace(path)
    except OSError as error:
        log.debug("could not record the hub failure in %s: %s", path, error)


def forget_failure(endpoint: str | None = None) -> None:
    """Drop a remembered failure (the hub answered)."""
    endpoint = endpoint or hub_endpoint()
    with _lock:
        _remembered.pop(endpoint, None)
    path = state_file()
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("endpoint") == endpoint:
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def probe(model: str, *, timeout: float = PROBE_TIMEOUT) -> list[str]:
    """Ask the hub, once, for the files of ``model``; a failure to reach it is remembered.

    :param model: a hub id such as ``deepset/tinyroberta-squad2``.
    :param timeout: seconds to wait for the answer.
    :returns: the repository's file names.
    :raises ModelUnavailable: why not, e.g. ``"https://huggingface.co is unreachable (...)"``:
        offline mode, the hub is unreachable or failing, or it has no such model.
    """
    import httpx
    from huggingface_hub.utils import build_hf_headers

    if hub_offline():
        raise ModelUnavailable("HF_HUB_OFFLINE is set")
    endpoint = hub_endpoint()
    try:
        response = httpx.get(
            f"{endpoint}/api/models/{model}", headers=build_hf_headers(), timeout=timeout
        )
    except httpx.HTTPError as error:
        reason = _first_line(error)
        remember_failure(reason, endpoint)
        raise ModelUnavailable(f"{endpoint} is unreachable ({reason})") from None
    if response.status_code in (401, 403, 404):
        forget_failure(endpoint)
        raise ModelUnavailable(f"{endpoint} has no model {model} (or it needs a token)")
    if response.status_code >= 400:
        reason = f"HTTP {response.status_code}"
        remember_failure(reason, endpoint)
        raise ModelUnavailable(f"{endpoint} is failing ({reason})")
    forget_failure(endpoint)
    try:
        return [item["rfilename"] for item in response.json().get("siblings", [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        return []


def wanted_files(files: list[str]) -> list[str]:
    """Patterns of the files to fetch: config, tokenizer and one copy of the PyTorch weights.

    safetensors weights are preferred; ``pytorch_model*.bin`` only when a repository has none.
    """
    patterns = list(CONFIG_FILES)
    if any(name.endswith(".safetensors") and "/" not in name for name in files):
        patterns += ["*.safetensors", "model.safetensors.index.json"]
    else:
        patterns += ["pytorch_model*.bin", "pytorch_model.bin.index.json"]
    return patterns


def fetch(model: str, *, timeout: float = PROBE_TIMEOUT, progress: bool = False) -> Path:
    """Download the model's config, tokenizer and weights into the Hugging Face cache.

    :param model: a hub id.
    :param timeout: seconds to wait for the hub's first answer.
    :param progress: show progress bars while downloading.
    :returns: the cached snapshot folder.
    :raises ModelUnavailable: ``"cannot download MODEL: why"``: offline, unreachable, no such
        model, or the download failed.
    """
    try:
        files = probe(model, timeout=timeout)
    except ModelUnavailable as error:
        raise ModelUnavailable(f"cannot download {model}: {error}") from None
    return download(model, files, timeout=timeout, progress=progress)


def download(model: str, files: list[str], *, timeout: float = PROBE_TIMEOUT, progress: bool = False) -> Path:
    """Download the files a reader needs (:func:`wanted_files`) of a model the hub has.

    :param model: a hub id.
    :param files: the repository's files, as :func:`probe` lists them.
    :param timeout: seconds to wait for each file's first answer.
    :param progress: show progress bars.
    :returns: the cached snapshot folder.
    :raises ModelUnavailable: the download failed.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    if not progress:
        disable_progress_bars()
    try:
        folder = snapshot_download(
            model, allow_patterns=wanted_files(files), endpoint=hub_endpoint(), etag_timeout=timeout
        )
    except Exception as error:  # noqa: BLE001 - network, disk and hub errors all mean "not fetched"
        raise ModelUnavailable(f"cannot download {model}: {_first_line(error)}") from error
    finally:
        if not progress:
            enable_progress_bars()
    return Path(folder)


def obtainable(model: str) -> None:
    """Raise at once when a hub id that is not cached cannot be fetched now (no network used).

    Checks offline mode, then a failure to reach the hub remembered from less than
    REMEMBER_SECONDS ago.

    :raises ModelUnavailable: ``"MODEL is not in the local Hugging Face cache, and why"``.
    """
    reason = "HF_HUB_OFFLINE is set" if hub_offline() else recent_failure()
    if reason:
        raise ModelUnavailable(f"{model} is not in the local Hugging Face cache, and {reason}")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
