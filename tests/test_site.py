"""The book's website, read in a real browser: headless Chromium, with no network.

The site is built once for the whole session from the committed, executed
notebooks (nothing is executed), then every page is opened from its
file:// address, as a reader opens it, in a Chromium whose host resolver
fails every name: a page that needed the network would show it.

Needs Debian's ``chromium`` and ``chromium-driver`` packages (``apt-get
install chromium chromium-driver``) and the ``selenium`` package; the tests
skip, saying so, where they are missing. Screenshots of the landing page and
of one chapter are written to ``build/screenshots/``.
"""

import json
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tools.chapters import BUILD_DIR, NOTEBOOKS_DIR, find_chapters

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOTS = BUILD_DIR / "screenshots"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
    # No network: every host name fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
# Visible LaTeX that MathJax should have typeset.
RAW_MATH = re.compile(
    r"\$\$|\$[^$\s][^$]*\$|\\(?:frac|partial|sum|sigma|ell|tfrac|mathbf|begin|left|right)\b"
)

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                       reason="Chromium is not installed (apt-get install chromium chromium-driver)"),
]


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The website built from the committed notebooks, and its pages: (folder, pages)."""
    from tools import site as book_site
    from tools.build import book_title

    pages = book_site.choose_notebooks(find_chapters(), [NOTEBOOKS_DIR])
    assert pages, "no executed notebooks to build the site from"
    html = tmp_path_factory.mktemp("site") / "html"
    warnings = book_site.build_site(pages, html, book_title())
    assert warnings == [], "Sphinx warned:\n" + "\n".join(warnings)
    return html, pages


@pytest.fixture(scope="session")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    driver.get("about:blank")
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def open_page(browser, path):
    """Load a page, wait until MathJax has typeset it; return (console messages, requested URLs)."""
    browser.get_log("browser")
    browser.get_log("performance")
    browser.get(Path(path).as_uri())
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const ready = () => (window.MathJax && MathJax.startup && MathJax.startup.promise)"
        "  ? MathJax.startup.promise.then(() => done(true)) : done(false);"
        "if (document.readyState === 'complete') ready(); else window.addEventListener('load', ready);"
    )
    console = browser.get_log("browser")
    requests = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message["params"]
        if message["method"] == "Network.requestWillBeSent" and is_under(params.get("documentURL"), path):
            requests.append(params["request"]["url"])
    return console, requests


def is_under(url, page):
    """Whether ``url`` is a page of the site that ``page`` belongs to (the browser's own pages are not)."""
    return bool(url) and url.startswith(Path(page).parent.as_uri() + "/")


# What each page shows, gathered in one visit per page.
PAGE_FACTS = """
const article = document.querySelector('article');
const prose = article.cloneNode(true);
prose.querySelectorAll('pre, code, .output.stream, .output.text_plain, mjx-container, script')
  .forEach(e => e.remove());
const href = selector => { const a = document.querySelector(selector); return a && a.getAttribute('href'); };
return {
  formulas: article.querySelectorAll('mjx-container').length,
  math_errors: article.querySelectorAll('mjx-merror').length,
  prose: prose.textContent,
  home: href('.bd-sidebar-primary ul.bd-sidenav__home-link a'),
  sidebar: [...document.querySelectorAll(
      '.bd-sidebar-primary ul.bd-sidenav:not(.bd-sidenav__home-link) > li.toctree-l1 > a')]
    .map(a => [a.textContent.trim(), a.getAttribute('href')]),
  previous: href('a.left-prev'),
  next: href('a.right-next'),
  tables: article.querySelectorAll('.cell_output table').length,
  downloads: [...article.querySelectorAll('.launch-box a.download')].map(a => a.getAttribute('href')),
  images: [...article.querySelectorAll('.cell_output img')]
    .map(img => [img.getAttribute('src'), img.complete, img.naturalWidth]),
};
"""


@pytest.fixture(scope="session")
def visits(site, browser):
    """{page file name: what the browser found on it}, for the landing page and every chapter."""
    html, pages = site
    found = {}
    for name in ["index.html", *(page.chapter.html_name for page in pages)]:
        console, requests = open_page(browser, html / name)
        found[name] = {"console": console, "requests": requests, **browser.execute_script(PAGE_FACTS)}
    return found


def chapter_page(site, number):
    html, pages = site
    (page,) = [page for page in pages if page.chapter.number == number]
    return html / page.chapter.html_name, page


def test_every_page_loads_with_no_console_error_and_no_other_host(visits):
    for name, visit in visits.items():
        errors = [entry["message"] for entry in visit["console"] if entry["level"] in ("SEVERE", "WARNING")]
        assert errors == [], f"{name}: console errors {errors}"
        assert visit["requests"], f"{name}: no request was recorded"
        elsewhere = [url for url in visit["requests"] if urlparse(url).scheme not in ("file", "data", "blob")]
        assert elsewhere == [], f"{name} asked another host for {elsewhere}"


def test_formulas_are_typeset(site, visits):
    for page in site[1]:
        visit = visits[page.chapter.html_name]
        raw = RAW_MATH.findall(visit["prose"])
        if "$" in page.chapter.source.read_text(encoding="utf-8"):
            assert visit["formulas"] > 0, f"{page.chapter.stem}: no typeset formula"
        assert visit["math_errors"] == 0, f"{page.chapter.stem}: formulas MathJax could not read"
        assert raw == [], f"{page.chapter.stem}: LaTeX left in the text: {raw[:5]}"


def test_sidebar_lists_every_chapter_in_order_with_its_number(site, visits):
    pages = site[1]
    expected = [[f"{page.chapter.number}. {page.chapter.title}", page.chapter.html_name] for page in pages]
    assert [page.chapter.stem for page in pages] == [chapter.stem for chapter in find_chapters()], (
        "every chapter of chapters/ has a page"
    )
    for name, visit in visits.items():
        assert visit["home"] in ("#", "index.html"), name
        shown = [[title, "#" if href == "#" else href] for title, href in visit["sidebar"]]
        assert shown == [[title, "#" if href == name else href] for title, href in expected], name


def test_previous_and_next_links_follow_the_chapters(site, visits):
    names = ["index.html", *(page.chapter.html_name for page in site[1])]
    for position, name in enumerate(names):
        assert visits[name]["previous"] == (names[position - 1] if position > 0 else None), name
        assert visits[name]["next"] == (names[position + 1] if position + 1 < len(names) else None), name


def test_search_finds_the_chapter_that_has_the_word(site, browser):
    html, pages = site
    word = "Nesterov"
    having = {page.chapter.html_name for page in pages
              if word in page.chapter.source.read_text(encoding="utf-8")}
    assert having, f"no chapter mentions {word}"
    browser.get((html / "search.html").as_uri() + f"?q={word}")
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const wait = () => document.querySelectorAll('#search-results li').length"
        "  ? done(true) : setTimeout(wait, 100);"
        "wait();"
    )
    found = browser.execute_script(
        "return [...document.querySelectorAll('#search-results li a')].map(a => a.getAttribute('href'))"
    )
    assert {href.split("#")[0].split("?")[0] for href in found} == having


def test_every_figure_is_an_image_that_loaded(site, visits):
    for page in site[1]:
        images = visits[page.chapter.html_name]["images"]
        stored = len(outputs_with(page.notebook, lambda data: "image/png" in data))
        assert len(images) == stored, (
            f"{page.chapter.stem}: {len(images)} images on the page, {stored} in the notebook"
        )
        broken = [src for src, complete, width in images if not complete or width == 0]
        assert broken == [], f"{page.chapter.stem}: images that did not load: {broken}"


def test_every_chapter_offers_its_notebook_and_its_source(site, visits):
    html, pages = site
    for page in pages:
        links = visits[page.chapter.html_name]["downloads"]
        names = [link.rsplit("/", 1)[-1] for link in links]
        assert names == [page.chapter.notebook_name, page.chapter.source.name], page.chapter.stem
        notebook, source = (html / link for link in links)
        assert notebook.read_bytes() == page.notebook.read_bytes()
        assert source.read_bytes() == page.chapter.source.read_bytes()


def test_tables_that_cells_display_are_tables(site, visits):
    for page in site[1]:
        expected = len(outputs_with(page.notebook, lambda data: re.search(
            r"^\|[-:| ]+\|$", "".join(data.get("text/markdown", "")), re.M)))
        assert visits[page.chapter.html_name]["tables"] == expected, page.chapter.stem


def outputs_with(path, wanted):
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    return [output for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.outputs if wanted(output.get("data", {}))]


@pytest.mark.exercise("4.2")
def test_a_solution_is_hidden_until_its_button_is_clicked(site, browser):
    import nbformat
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    from tools.site import SHOW_SOLUTION, solution_cells

    path, page = chapter_page(site, 4)

    expected = len(solution_cells(nbformat.read(page.notebook, as_version=4)))
    open_page(browser, path)
    toggles = browser.find_elements(By.XPATH, f"//details/summary[contains(., '{SHOW_SOLUTION}')]")
    assert len(toggles) == expected > 0
    details = toggles[0].find_element(By.XPATH, "..")
    code = details.find_element(By.CSS_SELECTOR, "pre")
    check = details.find_element(By.XPATH, "following::div[contains(@class, 'cell')][1]//pre")
    assert not code.is_displayed(), "the solution shows before its button is clicked"
    assert "BEGIN SOLUTION" in code.get_attribute("textContent")
    assert check.is_displayed(), "the check cell after a solution is visible"
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", toggles[0])
    toggles[0].click()
    WebDriverWait(browser, 10).until(lambda _: code.is_displayed(),
                                     "the solution shows once its button is clicked")


def test_screenshots_of_the_landing_page_and_a_chapter(site, browser):
    path, page = chapter_page(site, 4)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for source, name in [(site[0] / "index.html", "index.png"), (path, page.chapter.stem + ".png")]:
        open_page(browser, source)
        target = SCREENSHOTS / name
        assert browser.save_screenshot(str(target))
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 10_000
