"""Settings for every pytest run in this repository, notebooks included.

Notebook kernels started by the validation inherit this process's
environment, prepared by ``tools.chapters.prepare_kernel_environment``:
FRAMEWORK_DATA_DIR points at the shared MNIST folder next to the
repository when it exists and the variable is unset, PYTHONHASHSEED is
fixed, and the linear algebra library uses one thread. This file sits at
the top so that validating a single notebook gets the same settings.
"""

from tools.chapters import prepare_kernel_environment

prepare_kernel_environment()
