"""One process at a time on a MODEL_DIR: two would share its key, its release record and its
checkpoints, and race on the count of released steps (a step's noise released twice).

The lock is an flock on the MODEL_DIR folder itself (no file is written for it, so a run
refused before it writes anything leaves nothing behind), held until the process exits."""

import fcntl
import os

_held = {}  # real path of a locked MODEL_DIR -> its open descriptor


class ModelDirBusy(RuntimeError):
    """Another process holds the MODEL_DIR."""


def lock_model_dir(model_dir):
    """Locks MODEL_DIR for this process when it exists (again in the same process: a no-op);
    raises ModelDirBusy when another process holds it."""
    if not os.path.isdir(model_dir):
        return
    folder = os.path.realpath(model_dir)
    if folder in _held:
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
        os.close(fd)
        raise ModelDirBusy(
            f"another process is training in --model_dir={model_dir}: wait for it to "
            "finish, stop it, or use another --model_dir"
        ) from e
    _held[folder] = fd
