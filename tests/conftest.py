"""Settings shared by every test and by the notebook validation.

- The environment of notebook kernels is prepared in the top-level
  conftest.py.
- Property tests run the same examples on every run and machine
  (``derandomize``) and have no time limit per example, so a busy machine
  does not make them fail. Set HYPOTHESIS_PROFILE=explore to search with
  fresh random examples instead.
"""

import os

from hypothesis import settings

settings.register_profile("book", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, max_examples=1000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "book"))
