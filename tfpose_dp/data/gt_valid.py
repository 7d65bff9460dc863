"""MPII's evaluation file gt_valid.mat (the standard validation split that HRNet and mmpose
ship): read by the converter, the TFDS builder and the scorer."""


class GroundTruthError(ValueError):
    """The file is not a readable gt_valid.mat."""


def read_gt_valid(path):
    """The file as stored: headboxes_src (2,2,N), jnt_missing (16,N), pos_gt_src (16,2,N)."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        mat = loadmat(path)
        return mat["headboxes_src"], mat["jnt_missing"], mat["pos_gt_src"]
    except KeyError as e:
        raise GroundTruthError(f"{path}: not an MPII gt_valid.mat (missing {e})") from e
    except (OSError, ValueError, MatReadError) as e:
        raise GroundTruthError(f"cannot read {path}: {e}") from e
