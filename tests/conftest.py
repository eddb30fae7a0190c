"""Settings shared by every test and by the notebook validation.

- Notebook kernels started by the validation inherit this process's
  environment: FRAMEWORK_DATA_DIR points at the shared MNIST folder next to
  the repository when it exists and the variable is unset, and
  PYTHONHASHSEED is fixed (see tools.chapters.prepare_kernel_environment).
- Property tests run the same examples on every run and machine
  (``derandomize``) and have no time limit per example, so a busy machine
  does not make them fail. Set HYPOTHESIS_PROFILE=explore to search with
  fresh random examples instead.
"""

import os

from hypothesis import settings

from tools.chapters import prepare_kernel_environment

prepare_kernel_environment()

settings.register_profile("book", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, max_examples=1000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "book"))
