"""Where tfpose_dp keeps what it can rebuild (the synthetic set, image checks), and how a
folder of it is written once."""

import os
import shutil
import tempfile


def cache_root():
    """$TFPOSE_DP_CACHE, else ~/.cache/tfpose_dp."""
    return os.environ.get("TFPOSE_DP_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "tfpose_dp"
    )


def write_folder_once(target, fill, prefix=".tmp_"):
    """Writes the folder `target` atomically: `fill(tmp)` fills a temporary folder beside it,
    which is then renamed. If another process finishes first, its folder is kept; a failure
    leaves nothing behind. Returns `target`."""
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=prefix, dir=parent)
    try:
        fill(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not os.path.isdir(target):
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process finished first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
