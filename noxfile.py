"""Every check of labcode, runnable on a fresh machine with only Python and nox.

    nox              # the full check: lint, typecheck, tests, core, docs, browser, examples
    nox -s docs      # build the executed site into docs/_build/html
    nox -s docs -- --page topics/harris-corners   # build and execute one page
    nox -s serve     # serve the site on http://127.0.0.1:8000, rebuilding on change
    nox -s bench     # timings against the peers (torch, scipy), printed as ratios

Every session installs labcode itself into its own environment (tests and docs
exercise the installed package, never the source tree on sys.path).

Environments are reused between runs. Each one carries a stamp of what was
installed into it: the requirements are installed again only when
``pyproject.toml`` (or the session's groups and extras) changes, and labcode
itself is reinstalled only when its sources change. ``nox --reuse-venv=no``
(or ``nox -s clean`` for the site) starts from scratch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
# uv makes a fresh run fast; plain virtualenv is the fallback where uv is absent
# (`python -m pip install "nox[uv]"` brings uv along).
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = [
    "lint",
    "typecheck",
    "tests",
    "core",
    "docs",
    "browser",
    "examples",
]
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).resolve().parent
DOCS = ROOT / "docs"
BUILD = DOCS / "_build"
PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
STAMP = "labcode-install.json"


def _digest(parts: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def labcode_sources_hash() -> str:
    """Hash of what the installed labcode is built from: its files and the metadata."""
    package = sorted(
        p
        for p in (ROOT / "labcode").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
    files = [ROOT / "pyproject.toml", *package]
    return _digest(
        item
        for path in files
        for item in (str(path.relative_to(ROOT)).encode(), path.read_bytes())
    )


def _installed_labcode(location: str | None) -> dict[Path, tuple[int, str]]:
    """Timestamp and hash of each file of the labcode installed in the environment."""
    if not location:
        return {}
    found: dict[Path, tuple[int, str]] = {}
    for package in Path(location).glob("[Ll]ib*/**/site-packages/labcode"):
        for path in package.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[path] = (path.stat().st_mtime_ns, digest)
    return found


def _keep_timestamps(location: str | None, before: dict[Path, tuple[int, str]]) -> None:
    """Give reinstalled files whose content did not change their old timestamps.

    Sphinx's autodoc reads an API page again when its module's file is newer
    than the page: without this, a one-line edit to labcode/vm.py would make
    every API page be read again, not just the one for labcode.vm.
    """
    for path, (mtime, digest) in _installed_labcode(location).items():
        old = before.get(path)
        if old is not None and old[1] == digest and old[0] != mtime:
            os.utime(path, ns=(path.stat().st_atime_ns, old[0]))


def install(
    session: nox.Session,
    *groups: str,
    extras: tuple[str, ...] = ("web",),
    editable: bool = False,
    package: bool = True,
) -> None:
    """Install labcode (a built wheel unless `editable`) with `extras`, and `groups`.

    Skips whatever the stamp in the environment says is already installed: the
    requirements when their set is unchanged, labcode when its sources are.
    With ``package=False`` only the groups are installed.
    """
    requirements: list[str] = (
        list(PYPROJECT["project"]["dependencies"]) if package else []
    )
    for extra in extras if package else ():
        requirements += PYPROJECT["project"]["optional-dependencies"][extra]
    for group in groups:
        requirements += nox.project.dependency_groups(PYPROJECT, group)
    wanted = {
        "requirements": _digest(r.encode() for r in sorted(requirements)),
        "labcode": (
            ("editable" if editable else labcode_sources_hash()) if package else "-"
        ),
    }
    location = getattr(session.virtualenv, "location", None)
    stamp = Path(location) / STAMP if location else None
    have: dict[str, str] = {}
    if stamp is not None and stamp.is_file():
        have = json.loads(stamp.read_text())
    if have.get("requirements") != wanted["requirements"]:
        session.install(*requirements)
        have = {"requirements": wanted["requirements"]}
    if package and have.get("labcode") != wanted["labcode"]:
        # Dependencies are installed above: only labcode itself is (re)built here.
        again = (
            ["--reinstall-package", "labcode"]
            if session.venv_backend == "uv"
            else ["--force-reinstall"]
        )
        target = ["-e", "."] if editable else ["."]
        before = _installed_labcode(location)
        session.install("--no-deps", *again, *target)
        _keep_timestamps(location, before)
    if have == wanted:
        session.log("requirements and labcode already installed and up to date")
        return
    if stamp is not None:
        # Through run_install, so that `--no-install` (-R) skips the stamp as well.
        write = f"import pathlib; pathlib.Path({str(stamp)!r}).write_text({json.dumps(wanted)!r})"
        session.run_install("python", "-c", write, silent=True)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff lint (numpy-convention docstrings), format check, deploy configs validated."""
    install(session, "lint", package=False)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # The deploy configs against check-jsonschema's built-in schemas (no network).
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    session.run(
        "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows
    )
    session.run(
        "check-jsonschema",
        "--builtin-schema",
        "vendor.readthedocs",
        ".readthedocs.yaml",
    )


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Mypy in strict mode on labcode, tests, benchmarks, the noxfile and docs/_ext."""
    install(session, "typecheck")
    session.run("mypy", *session.posargs)


PYTEST_DOCS = [
    # Unit tests plus the ">>>" snippets written in the docs pages.
    "tests",
    "docs",
    "--doctest-glob=*.md",
    "--ignore=docs/_build",
    "--ignore=docs/examples",
    "--ignore=docs/conf.py",
    "--ignore=docs/_ext",
    "--ignore=tests/site",  # the built site's checks: `nox -s browser`
]


def _names_tests(posargs: list[str]) -> bool:
    """Whether the arguments after ``--`` name tests (then only those run)."""
    return any(
        not arg.startswith("-") and Path(arg.split("::")[0]).exists() for arg in posargs
    )


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Pytest, the doctests of every labcode docstring and of the docs pages.

    ``nox -s tests -- tests/test_vm.py -x`` runs only the tests named.
    """
    # The docs group is needed by the tests of the site's build machinery.
    install(session, "test", "docs")
    session.env["MPLBACKEND"] = "Agg"
    if _names_tests(session.posargs):  # `nox -s tests -- tests/test_vm.py -x`
        session.run("pytest", *session.posargs)
        return
    session.run("pytest", *PYTEST_DOCS, *session.posargs)
    # Docstring examples of the *installed* package.
    session.run("pytest", "--doctest-modules", "--pyargs", "labcode")


@nox.session(python=PYTHON)
def core(session: nox.Session) -> None:
    """The tests and doctests with labcode installed without extras (no Flask).

    What needs the `web` extra skips with its reason (pytest.importorskip);
    everything else must pass on the bare runtime dependencies.
    """
    install(session, "test", extras=())
    session.env["MPLBACKEND"] = "Agg"
    if _names_tests(session.posargs):
        session.run("pytest", *session.posargs)
        return
    session.run("pytest", "tests", "--ignore=tests/site", *session.posargs)
    session.run(
        "pytest",
        "--doctest-modules",
        "--pyargs",
        "labcode",
        "--ignore-glob=*/labcode/web/*",  # needs the web extra
    )


def _sphinx_args(builder: str = "html") -> list[str]:
    return [
        "-b",
        builder,
        "-W",  # warnings are errors...
        "--keep-going",  # ...but report all of them
        "-n",  # every cross-reference must resolve
        "-T",  # full tracebacks
        "-j",  # pages are read, and so executed, in parallel
        "auto",
        "-d",
        str(BUILD / "doctrees"),
        str(DOCS),
        str(BUILD / builder),
    ]


def _page_args(posargs: list[str]) -> tuple[list[str], list[str]] | None:
    """``--page NAME`` in `posargs`: sphinx-build arguments for that page alone.

    Returns ``None`` without ``--page``, else the arguments and the other posargs.
    NAME is a docname (``topics/harris-corners``), a path to the source, or a
    file name's stem (``harris-corners``).
    """
    if "--page" not in posargs:
        return None
    at = posargs.index("--page")
    if at + 1 >= len(posargs):
        msg = "--page needs a page, e.g. --page topics/harris-corners"
        raise ValueError(msg)
    name = posargs[at + 1]
    rest = posargs[:at] + posargs[at + 2 :]
    stem = (
        Path(name).with_suffix("")
        if Path(name).suffix in {".md", ".py"}
        else Path(name)
    )
    stem = Path(*stem.parts[1:]) if stem.parts[:1] == ("docs",) else stem
    sources = [
        p
        for p in sorted(DOCS.rglob("*"))
        if p.suffix in {".md", ".py"}
        and "_build" not in p.parts
        and "_ext" not in p.parts
        and p.name != "conf.py"
        and (p.relative_to(DOCS).with_suffix("") == stem or p.stem == str(stem))
    ]
    if len(sources) != 1:
        found = ", ".join(str(p.relative_to(DOCS)) for p in sources) or "none"
        msg = f"--page {name}: expected one page under docs/; found {found}"
        raise ValueError(msg)
    page = sources[0].relative_to(DOCS).as_posix()
    args = [
        "-b",
        "html",
        "-T",
        # Only this page is read; links to other pages cannot resolve here.
        "-D",
        f"include_patterns=index.md,{page}",
        "-D",
        "nitpicky=0",
        "-D",
        "suppress_warnings=toc.not_readable,ref.doc",
        "-d",
        str(BUILD / "page-doctrees"),
        str(DOCS),
        str(BUILD / "page"),
    ]
    return args, rest


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the site into docs/_build/html, executing the pages that changed.

    ``nox -s docs -- --page topics/harris-corners`` builds and executes that one
    page into docs/_build/page (same execution cache) for fast work on its prose.
    """
    install(session, "docs")
    session.env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        page = _page_args(list(session.posargs))
    except ValueError as error:
        session.error(str(error))
    if page is not None:
        args, rest = page
        session.run("sphinx-build", *args, *rest)
        session.log(f"page built into {BUILD / 'page'}")
        return
    session.run("sphinx-build", *_sphinx_args(), *session.posargs)
    session.log(
        f"site built: open {BUILD / 'html' / 'index.html'} or run `nox -s serve`"
    )


@nox.session(python=PYTHON)
def browser(session: nox.Session) -> None:
    """Check the built site in Debian's chromium; run every snippet; follow every link.

    Builds the site first (incrementally: unchanged pages come from the cache),
    then runs tests/site: every page loads with no console error, no request to
    another host, all images and maths rendered; search works; the copy button
    copies code only; a phone-sized, dark-mode screenshot lands in
    docs/_build/screenshots; every `>>>` snippet runs as copied; no internal
    link or anchor is broken.
    """
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        session.error(
            "Debian's chromium is not installed: `sudo apt-get install -y chromium` "
            "(Playwright drives it; `playwright install` cannot download browsers here)"
        )
    install(session, "docs", "test", "site")
    # Lighthouse and axe-core, pinned by tests/site/package-lock.json.
    site_tests = ROOT / "tests" / "site"
    stamp = site_tests / "node_modules" / ".package-lock.json"
    lock = site_tests / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        if shutil.which("npm") is None:
            session.error("npm is not installed: `sudo apt-get install -y nodejs npm`")
        session.run(
            "npm",
            "ci",
            "--no-audit",
            "--no-fund",
            f"--prefix={site_tests}",
            external=True,
        )
    session.env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    session.run("sphinx-build", *_sphinx_args())
    session.env["MPLBACKEND"] = "Agg"
    session.run("pytest", "tests/site", "-s", *session.posargs)


@nox.session(python=PYTHON)
def serve(session: nox.Session) -> None:
    """Serve the site on localhost and rebuild it when docs, examples or labcode change."""
    install(session, "serve", editable=True)  # the kernel sees edits to labcode at once
    port = os.environ.get("PORT", "8000")
    session.run(
        "sphinx-autobuild",
        "--host",
        "127.0.0.1",
        "--port",
        port,
        "--watch",
        str(ROOT / "labcode"),
        "--watch",
        str(ROOT / "examples"),
        "--ignore",
        str(DOCS / "examples"),
        *_sphinx_args(),
        *session.posargs,
    )


@nox.session(python=PYTHON)
def examples(session: nox.Session) -> None:
    """Run every examples/*.py as a plain script."""
    install(session)
    session.env["MPLBACKEND"] = "Agg"
    scripts = sorted((ROOT / "examples").glob("*.py"))
    if not scripts:
        session.error("no examples/*.py found")
    for script in scripts:
        session.run("python", str(script))


@nox.session(python=PYTHON, venv_backend="virtualenv", default=False)
def bench(session: nox.Session) -> None:
    """Time labcode against its peers; print ratios, write benchmarks/results/latest.json.

    A virtualenv (pip) session on purpose: pip takes the CPU build of torch from
    the package index, where uv would resolve a multi-GB CUDA build.
    Pass benchmark names or ``--quick`` after ``--``.
    """
    install(session, "bench")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session(python=False, default=False)
def clean(session: nox.Session) -> None:
    """Remove the built site and the execution cache."""
    for path in (BUILD, DOCS / "examples"):
        if path.exists():
            session.log(f"removing {path}")
            shutil.rmtree(path)
