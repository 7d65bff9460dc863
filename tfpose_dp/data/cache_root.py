"""Where tfpose_dp keeps what it can rebuild (the synthetic set, image checks)."""

import os


def cache_root():
    """$TFPOSE_DP_CACHE, else ~/.cache/tfpose_dp."""
    return os.environ.get("TFPOSE_DP_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "tfpose_dp"
    )
