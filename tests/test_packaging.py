"""What ``pip install`` puts on a machine: one ``qabot`` package whose parts import one way only.

The repository keeps its parts in top-level folders (``bot/``, ``retrieval/``, ...); ``pyproject.toml``
maps them into ``qabot``. These tests build the wheel from a copy of the checkout, look inside it,
install it into a fresh virtual environment and ask it a question; and they read every module's
imports to check that they run downwards: bot → evaluation, training → retrieval → models, index.
"""

import ast
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("bot", "evaluation", "training", "retrieval", "models", "index")

#: What each part may import of qabot, besides itself (the layers under it).
MAY_IMPORT = {
    "bot": {"evaluation", "training", "retrieval", "models", "index"},
    "evaluation": {"retrieval", "models", "index"},
    "training": {"retrieval", "models", "index"},
    "retrieval": {"models", "index"},
    "models": set(),
    "index": set(),
}
ARTICLE = ROOT / "examples" / "articles" / "01-putin-pyongyang-treaty.md"
QUESTION = "When did Putin last visit Pyongyang before this trip?"


def _qabot_imports(path: Path):
    """(line, imported module) for each ``qabot.*`` module the file imports, at any depth."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def test_each_part_imports_only_the_layers_under_it():
    wrong = []
    for part in PARTS:
        for path in sorted((ROOT / part).glob("*.py")):
            for line, module in _qabot_imports(path):
                top, _, rest = module.partition(".")
                if top in PARTS:  # a bare "import retrieval": the checkout's folder, not the package
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module} (not qabot.{module})")
                elif top == "qabot" and rest:
                    target = rest.split(".")[0]
                    if target != part and target not in MAY_IMPORT[part]:
                        wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built offline from a copy of the checkout (a build leaves files in its source)."""
    source = tmp_path_factory.mktemp("source") / "qabot"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "data", "*.egg-info", "__pycache__", ".venv*", ".env"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(out), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    [built] = out.glob("qabot-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_holds_only_the_qabot_package_with_the_builtin_reader_inside(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"qabot", wheel.name.split("-py3")[0] + ".dist-info"}
    for part in PARTS:
        assert f"qabot/{part}/__init__.py" in names
    assert "qabot/retrieval/builtin_reader/model.safetensors" in names
    assert "qabot/retrieval/builtin_reader/qabot_profile.json" in names
    assert not [name for name in names if "/tests/" in name or "/benchmarks/" in name]
    entry_points = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-py3')[0]}.dist-info/entry_points.txt")
    assert b"qabot = qabot.bot.cli:cli" in entry_points


def _ask(python: str, db: Path, cwd: Path) -> str:
    env = {**os.environ, "QABOT_DB": str(db), "HF_HUB_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)
    run = dict(cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    subprocess.run([python, "-m", "qabot", "add", str(ARTICLE)], check=True, **run)
    return subprocess.run([python, "-m", "qabot", "ask", "--json", QUESTION], check=True, **run).stdout


@pytest.mark.slow
def test_the_wheel_installed_in_a_fresh_environment_answers_as_the_checkout_does(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)  # the dependencies: this machine's
    python = str(env_dir / "bin" / "python")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    where = subprocess.run([python, "-c", "import qabot.retrieval.loading as m; print(m.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert str(env_dir) in where and str(ROOT) not in where  # the wheel's copy, not the checkout

    from_wheel = _ask(python, tmp_path / "wheel.db", tmp_path)
    from_checkout = _ask(sys.executable, tmp_path / "checkout.db", tmp_path)
    assert '"text": "July 2000"' in from_wheel
    assert from_wheel == from_checkout
