"""The documentation site: ``mkdocs build --strict`` passes, and every page renders in a real browser.

The site is built into a temporary folder, served on 127.0.0.1 by ``http.server`` in a thread,
and every page is opened in headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
installed by ``.ci/run``) through selenium.  For each page the test checks that

* every formula was typeset by KaTeX (no raw ``\\(...\\)`` left, no KaTeX error), and the pages
  about math have formulas at all;
* the pages that teach with code show code blocks;
* every image loaded (``naturalWidth > 0``);
* every link into the site points to a built file, and every ``#anchor`` to an element of it;
* the browser logged no error (a missing script, stylesheet or font), and nothing was requested
  from outside the local server.

The browser may reach 127.0.0.1 only (``--host-resolver-rules``), so the check also proves that the
site works offline.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

#: Pages whose subject is math: they must show typeset formulas.
MATH_PAGES = ["index.html", "concepts/"] + [f"tutorials/0{i}_" for i in range(1, 8)]
#: Pages that teach with code: they must show code blocks.
CODE_PAGES = ["index.html", "getting-started.html", "teachers.html", "benchmarks.html", "tutorials/", "api/"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    return out


def test_strict_build_makes_every_section(site):
    for page in ["index.html", "getting-started.html", "teachers.html", "benchmarks.html", "concepts/index.html",
                 "tutorials/index.html", "api/index.html", "api/high-level.html"]:
        assert (site / page).is_file(), f"{page} was not built"
    tutorials = sorted(p.stem for p in (REPO / "tutorials").glob("0*.py"))
    for stem in tutorials:
        assert (site / "tutorials" / f"{stem}.html").is_file(), f"tutorial {stem} has no page"
    api = (site / "api" / "high-level.html").read_text(encoding="utf-8")
    assert "CKKSVector" in api and "doc-heading" in api, "mkdocstrings did not render the API reference"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail(
            "headless Chromium is needed for the documentation check: apt-get install chromium chromium-driver "
            "(.ci/run does this)"
        )
    from selenium import webdriver  # a dev dependency: a missing install fails here
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--disable-default-apps", "--window-size=1280,900",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _pages(site: Path) -> list[str]:
    pages = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site).as_posix()
        if rel == "404.html" or rel.startswith(("assets/", "search/")):
            continue
        pages.append(rel)
    return pages


PAGE_REPORT = """
const math = [...document.querySelectorAll('.arithmatex')];
return {
  math: math.length,
  typeset: math.filter(e => e.querySelector('.katex')).length,
  katexErrors: document.querySelectorAll('.katex-error').length,
  code: document.querySelectorAll('pre > code').length,
  images: [...document.images].map(i => [i.currentSrc || i.src, i.complete, i.naturalWidth]),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  resources: performance.getEntriesByType('resource').map(r => r.name),
};
"""


def _wait_for_math(driver, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    script = (
        "return document.readyState === 'complete' && "
        "[...document.querySelectorAll('.arithmatex')].every(e => e.querySelector('.katex'))"
        " && [...document.images].every(i => i.complete);"
    )
    while time.monotonic() < deadline:
        if driver.execute_script(script):
            return
        time.sleep(0.1)


@functools.cache
def _ids(path: Path) -> frozenset[str]:
    import re

    text = path.read_text(encoding="utf-8", errors="replace")
    return frozenset(re.findall(r'\bid="([^"]+)"', text))


def _check_link(site: Path, server: str, page: str, href: str) -> str | None:
    """None when an internal link resolves, else what is wrong with it."""
    if not href.startswith(server):
        return None  # external (not followed: the tests run offline)
    parts = urlsplit(href)
    target = unquote(parts.path).lstrip("/")
    if target == "" or target.endswith("/"):
        target += "index.html"
    file = site / target
    if not file.is_file():
        return f"{page}: broken link {href} (no {target} in the site)"
    if parts.fragment and file.suffix == ".html" and unquote(parts.fragment) not in _ids(file):
        return f"{page}: link {href} points to a missing anchor #{parts.fragment} in {target}"
    return None


def test_every_page_renders(site, server, browser):
    pages = _pages(site)
    assert len(pages) >= 20, f"the site has only {len(pages)} pages: {pages}"
    problems: list[str] = []
    for page in pages:
        browser.get(f"{server}/{page}")
        _wait_for_math(browser)
        report = browser.execute_script(PAGE_REPORT)
        if report["typeset"] != report["math"]:
            problems.append(f"{page}: {report['math'] - report['typeset']} of {report['math']} formulas not typeset")
        if report["katexErrors"]:
            problems.append(f"{page}: {report['katexErrors']} KaTeX errors (bad LaTeX)")
        if any(page.startswith(prefix) for prefix in MATH_PAGES) and report["math"] == 0:
            problems.append(f"{page}: a page about the math shows no formula")
        if any(page.startswith(prefix) for prefix in CODE_PAGES) and report["code"] == 0:
            problems.append(f"{page}: no code block")
        for src, complete, width in report["images"]:
            if not complete or width == 0:
                problems.append(f"{page}: image {src} did not load")
        for href in report["links"]:
            problem = _check_link(site, server, page, href)
            if problem:
                problems.append(problem)
        for resource in report["resources"]:
            if not resource.startswith(server) and not resource.startswith(("data:", "blob:")):
                problems.append(f"{page}: requested {resource} from outside the site")
        for entry in browser.get_log("browser"):
            if entry.get("level") == "SEVERE":
                problems.append(f"{page}: browser error: {entry.get('message')}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])


def test_math_and_plots_render_on_a_tutorial(site, server, browser):
    """A closer look at one page: KaTeX produced visible formulas and the plot has real pixels."""
    browser.get(f"{server}/tutorials/04_multiplication_rescaling.html")
    _wait_for_math(browser)
    sizes = browser.execute_script(
        "return [...document.querySelectorAll('.arithmatex .katex')].map(e => e.getBoundingClientRect().width);"
    )
    assert sizes and min(sizes) > 0, "formulas were typeset but take no space"
    widths = browser.execute_script(
        "return [...document.querySelectorAll('article img')].map(i => [i.naturalWidth, i.naturalHeight]);"
    )
    assert widths and all(w > 100 and h > 100 for w, h in widths), f"plots missing or tiny: {widths}"
    outputs = browser.execute_script("return document.querySelectorAll('.highlight .filename').length;")
    assert outputs > 0, "the executed cells' outputs (titled 'Output') are missing"
