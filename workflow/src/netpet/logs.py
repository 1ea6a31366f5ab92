"""Logging for workflow jobs: one log file per job, Python warnings included."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator


@contextlib.contextmanager
def log_to(path: str | os.PathLike) -> Iterator[logging.Logger]:
    """Send log records of ``netpet`` (and Python warnings) to ``path`` while the block runs.

    Exceptions are logged with their message before they propagate, so the job's log says why
    it failed.  Log records never contain DICOM patient identity: modules log study IDs only.
    """
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    logger = logging.getLogger("netpet")
    try:
        yield logger
    except Exception as error:
        logger.error("%s: %s", type(error).__name__, error)
        raise
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        handler.close()
