"""Every check of labcode, runnable on a fresh machine with only Python and nox.

    nox              # the full check: lint, typecheck, tests, docs, browser, examples
    nox -s docs      # build the executed site into docs/_build/html
    nox -s serve     # serve the site on http://127.0.0.1:8000, rebuilding on change
    nox -s bench     # timings against the peers (torch, scipy), printed as ratios

Every session installs labcode itself into its own environment (tests and docs
exercise the installed package, never the source tree on sys.path).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
# uv makes a fresh run fast; plain virtualenv is the fallback where uv is absent.
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests", "docs", "browser", "examples"]
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).resolve().parent
DOCS = ROOT / "docs"
BUILD = DOCS / "_build"
PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def install(session: nox.Session, *groups: str, editable: bool = False) -> None:
    """Install labcode with its `web` extra (a built wheel unless `editable`) and groups."""
    requirements: list[str] = []
    for group in groups:
        requirements += nox.project.dependency_groups(PYPROJECT, group)
    target = ["-e", ".[web]"] if editable else [".[web]"]
    session.install(*target, *requirements)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff lint (numpy-convention docstrings), format check, deploy configs validated."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
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
    """Mypy in strict mode on the labcode package."""
    install(session, "typecheck")
    session.run("mypy")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Pytest, the doctests of every labcode docstring and of the docs pages."""
    # The docs group is needed by the tests of the site's build machinery.
    install(session, "test", "docs")
    session.env["MPLBACKEND"] = "Agg"
    # Unit tests plus the ">>>" snippets written in the docs pages.
    session.run(
        "pytest",
        "tests",
        "docs",
        "--doctest-glob=*.md",
        "--ignore=docs/_build",
        "--ignore=docs/examples",
        "--ignore=docs/conf.py",
        "--ignore=docs/_ext",
        "--ignore=tests/site",  # the built site's checks: `nox -s browser`
        *session.posargs,
    )
    # Docstring examples of the *installed* package.
    session.run("pytest", "--doctest-modules", "--pyargs", "labcode")


def _sphinx_args(builder: str = "html") -> list[str]:
    return [
        "-b",
        builder,
        "-W",  # warnings are errors...
        "--keep-going",  # ...but report all of them
        "-n",  # every cross-reference must resolve
        "-T",  # full tracebacks
        "-d",
        str(BUILD / "doctrees"),
        str(DOCS),
        str(BUILD / builder),
    ]


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the site into docs/_build/html, executing every page."""
    install(session, "docs")
    session.env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
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
