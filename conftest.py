"""Settings for every pytest run in this repository, notebooks included.

Notebook kernels started by the validation inherit this process's
environment, prepared by ``tools.chapters.prepare_kernel_environment``
(where MNIST is, PYTHONHASHSEED, one BLAS thread, the same machine code on
every processor). ``tools.missing_data`` turns missing MNIST into one
clear failure per notebook that needs it (or a skip, with
FRAMEWORK_SKIP_MISSING_DATA=1); ``tools.plain_output`` keeps colour codes
out of output that does not go to a terminal. This file sits at the top so that
validating a single notebook gets the same settings.
"""

from tools.chapters import prepare_kernel_environment

pytest_plugins = ["tools.missing_data", "tools.plain_output"]

prepare_kernel_environment()
