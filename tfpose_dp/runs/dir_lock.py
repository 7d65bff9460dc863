"""One process at a time on a MODEL_DIR: two would share its key, its release record and its
checkpoints, and race on the count of released steps (a step's noise released twice)."""

import fcntl
import os

from tfpose_dp.runs.layout import ensure_private_dir

LOCK_FILE = ".lock"
_held = {}  # real path of a locked private/ -> its open file (held until the process exits)


class ModelDirBusy(RuntimeError):
    """Another process holds the MODEL_DIR."""


def lock_model_dir(model_dir):
    """Takes MODEL_DIR/private/.lock for this process (again in the same process: a no-op);
    raises ModelDirBusy when another process holds it. Released when the process exits."""
    folder = os.path.realpath(ensure_private_dir(model_dir))
    if folder in _held:
        return
    handle = open(os.path.join(folder, LOCK_FILE), "a")  # noqa: SIM115 (held for the process)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
        handle.close()
        raise ModelDirBusy(
            f"another process is training in --model_dir={model_dir} (it holds {folder}/"
            f"{LOCK_FILE}): wait for it to finish, stop it, or use another --model_dir"
        ) from e
    _held[folder] = handle
