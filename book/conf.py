"""Sphinx settings of the book's website.

``python -m tools.build site`` assembles the site's sources (this folder's
pages, and one executed notebook per chapter) in a build folder and runs
Sphinx there with these settings; see tools/site.py. Nothing here is
fetched from the network, neither when the site is built nor when it is
read: the theme and MathJax come from installed Python packages.
"""

project = "Deep learning from nothing"  # tools/site.py passes the README's title

extensions = [
    "myst_nb",                 # notebooks and MyST Markdown
    "sphinx.ext.mathjax",      # math, typeset in the browser by MathJax ...
    "sphinx-mathjax-offline",  # ... served from the site itself (MathJax 3, from a PyPI package)
]

# The notebooks are stored executed; the site shows their outputs as they are.
nb_execution_mode = "off"
nb_merge_streams = True
# Markdown that a cell displays (tables, the package's source) is read as MyST,
# which has tables; plain CommonMark would show them as text.
nb_render_markdown_format = "myst"
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
exclude_patterns = ["_build", "chapter-sources", "**.ipynb_checkpoints"]

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_copy_source = False   # each chapter offers its notebook and source itself
html_show_sourcelink = False
html_last_updated_fmt = None
html_permalinks_icon = "#"
# Search works on the reader's machine, in the browser. Its result list shows
# no page excerpts: those would be fetched page by page, which browsers refuse
# for a site opened from a file:// address.
html_show_search_summary = False
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "footer_content_items": ["extra-footer.html"],
    "extra_footer": "<p>Every output on these pages was produced by the code above it, "
                    "when the book was last run.</p>",
    "navigation_with_keys": False,
}
# Light by default (the reader may switch); also keeps the theme from
# reporting an empty mode on the browser's console on a first visit.
html_context = {"default_mode": "light"}
