"""Downloading a file safely: a progress bar, a temporary file, an atomic rename.

A download that stops half way, or a mirror that answers with an error page,
must never leave a file under the final name: the next run would trust it.
So the bytes go to a temporary file in the same folder, are checked by an
optional ``verify`` function, and only then take the final name with
``os.replace``, which is atomic on the same file system.
"""

import http.client
import os
import tempfile
import urllib.request
from pathlib import Path

USER_AGENT = "framework-data/0.1 (Python urllib)"
"""Sent with every request; some servers refuse Python's default agent."""

DOWNLOAD_ERRORS = (OSError, http.client.HTTPException, ValueError)
"""What a failed download raises: network and HTTP errors (``urllib.error.URLError``
is an ``OSError``), a cut connection, a malformed URL, or a ``verify`` that says no."""


def download(url, destination, *, verify=None, progress=True, timeout=60.0, chunk_size=1 << 16):
    """Fetch ``url`` into the file ``destination`` and return its path.

    ``url`` may be ``https://``, ``http://`` or ``file://``. The bytes are
    written to a temporary file beside ``destination``; ``verify(path)`` (if
    given) is called on that temporary file and must raise to reject it; only
    then is the file renamed to ``destination``. On any failure the temporary
    file is removed and the exception propagates (one of ``DOWNLOAD_ERRORS``
    for network problems).
    """
    destination = Path(destination)
    handle, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    temporary = Path(temporary)
    try:
        with os.fdopen(handle, "wb") as out:
            _copy_url_to(url, out, progress=progress, timeout=timeout,
                         chunk_size=chunk_size, label=destination.name)
        if verify is not None:
            verify(temporary)
        os.chmod(temporary, 0o644)  # mkstemp makes files private (0o600)
        os.replace(temporary, destination)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return destination


def _copy_url_to(url, out, *, progress, timeout, chunk_size, label):
    """Stream the body of ``url`` into the open binary file ``out``."""
    from tqdm import tqdm  # only needed when something is downloaded

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        received = 0
        with tqdm(total=expected, unit="B", unit_scale=True, unit_divisor=1024,
                  desc=label, disable=not progress) as bar:
            while chunk := response.read(chunk_size):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if expected is not None and received != expected:
        raise OSError(f"download incomplete: received {received} of {expected} bytes")
