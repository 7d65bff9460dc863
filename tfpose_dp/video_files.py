"""Video in and out for inference, through imageio's ffmpeg plugin (the optional `video` extra:
`pip install -e ".[video]"`, which brings a static ffmpeg binary: nothing to install system-wide).
"""

import numpy as np


def _imageio():
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401  (the ffmpeg binary)
    except ImportError as e:
        raise ValueError(
            'video needs the video extra: pip install -e ".[video]" (imageio + imageio-ffmpeg)'
        ) from e
    return imageio


def read_frames(path):
    """(frames per second, iterator of (H, W, 3) uint8 RGB frames) of a video file."""
    imageio = _imageio()
    try:
        reader = imageio.get_reader(path, "ffmpeg")
        fps = float(reader.get_meta_data().get("fps") or 25.0)
    except (OSError, RuntimeError, ValueError) as e:
        raise ValueError(f"--video={path}: not a readable video ({e})") from e

    def frames():
        with reader:
            for frame in reader:
                yield np.asarray(frame)[..., :3]

    return fps, frames()


def write_video(path, frames, fps):
    """Writes RGB frames as an H.264 MP4."""
    imageio = _imageio()
    with imageio.get_writer(path, "ffmpeg", fps=fps, codec="libx264", macro_block_size=1) as out:
        for frame in frames:
            out.append_data(np.asarray(frame))
