"""Converter parity against timm's TinyViT (random weights), from a reference timm computed
once (tools/record_timm_reference.py, with the `convert` extra): no torch needed here. The
tests that read a real .pth or re-check the reference against timm need the extra."""

import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from tfpose_dp.models.tinyvit import build_backbone
from tfpose_dp.models.tinyvit_convert import canonical_name, load_state_dict, resample_bias_table

REFERENCE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "timm_tinyvit_micro.npz")


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as data:
        return {k: data[k] for k in data.files}


def _state(reference):
    return {
        k[len("state/") :]: v.astype(np.float32)
        for k, v in reference.items()
        if k.startswith("state/")
    }


@pytest.mark.parametrize("size", [(64, 48), (96, 96)])
def test_keras_backbone_matches_timm_forward_features(reference, size):
    backbone = build_backbone("tiny_vit_micro", (*size, 3), norm="frozen_bn")
    load_state_dict(backbone, _state(reference))
    key = f"{size[0]}x{size[1]}"
    expected = reference[f"output/{key}"]
    got = backbone(reference[f"input/{key}"], training=False).numpy()
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) < 1e-4


@pytest.mark.parametrize("variant", ["tiny_vit_5m", "tiny_vit_11m", "tiny_vit_21m"])
def test_parameter_count_equals_timm_without_head_norm(reference, variant):
    backbone = build_backbone(variant, (224, 224, 3))
    ours = sum(int(np.prod(v.shape)) for v in backbone.trainable_weights)
    assert ours == int(reference[f"count/{variant}"])


def test_the_reference_is_what_timm_computes(reference):
    """With the convert extra: the checked-in reference equals timm's output today."""
    pytest.importorskip("torch")
    pytest.importorskip("timm")
    tool = pathlib.Path(__file__).resolve().parents[2] / "tools" / "record_timm_reference.py"
    spec = importlib.util.spec_from_file_location("record_timm_reference", tool)
    record = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(record)
    import timm
    import torch

    model = record._random_micro(timm, torch)
    for name, value in model.state_dict().items():
        if value.dtype.is_floating_point:
            np.testing.assert_array_equal(value.numpy(), _state(reference)[name])
    x = reference["input/64x48"]
    with torch.no_grad():
        y = model.forward_features(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    np.testing.assert_allclose(y.numpy(), reference["output/64x48"], atol=1e-5)


def test_official_cream_names_map_to_timm_names():
    assert canonical_name("patch_embed.seq.0.c.weight") == "patch_embed.conv1.conv.weight"
    assert canonical_name("patch_embed.seq.2.bn.running_var") == "patch_embed.conv2.bn.running_var"
    assert (
        canonical_name("layers.0.downsample.conv2.c.weight")
        == "stages.1.downsample.conv2.conv.weight"
    )
    assert (
        canonical_name("layers.2.blocks.3.attn.qkv.weight") == "stages.2.blocks.3.attn.qkv.weight"
    )
    assert (
        canonical_name("layers.1.blocks.0.local_conv.c.weight")
        == "stages.1.blocks.0.local_conv.conv.weight"
    )


def test_official_layout_converts_like_timm_layout(reference):
    state = _state(reference)
    official = {}
    for key, value in state.items():  # rename timm -> official to exercise the other naming
        k = (
            key.replace("patch_embed.conv1.conv.", "patch_embed.seq.0.c.")
            .replace("patch_embed.conv1.bn.", "patch_embed.seq.0.bn.")
            .replace("patch_embed.conv2.conv.", "patch_embed.seq.2.c.")
            .replace("patch_embed.conv2.bn.", "patch_embed.seq.2.bn.")
        )
        k = k.replace(".conv.weight", ".c.weight")
        if k.startswith("stages.") and ".downsample." in k:
            stage = int(k.split(".")[1])
            k = k.replace(f"stages.{stage}.downsample.", f"layers.{stage - 1}.downsample.")
        official[k.replace("stages.", "layers.")] = value
    a = build_backbone("tiny_vit_micro", (64, 64, 3))
    b = build_backbone("tiny_vit_micro", (64, 64, 3))
    load_state_dict(a, state)
    load_state_dict(b, official)
    for va, vb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(va.numpy(), vb.numpy())


def test_bias_table_resampling_keeps_constant_tables_constant():
    table = np.full((3, 49), 0.7, np.float32)
    out = resample_bias_table(table, 14)
    assert out.shape == (3, 196)
    np.testing.assert_allclose(out, 0.7, atol=1e-5)


@pytest.mark.slow
def test_converter_tool_writes_weights_the_trainer_loads(tmp_path):
    """With the convert extra (torch reads the .pth)."""
    torch = pytest.importorskip("torch")
    timm = pytest.importorskip("timm")
    from tfpose_dp.models.pose_model import build_pose_model, load_backbone_weights

    torch.manual_seed(0)
    ref = timm.create_model("tiny_vit_5m_224", pretrained=False, num_classes=0)
    pth = tmp_path / "tv.pth"
    torch.save(ref.state_dict(), pth)
    out = tmp_path / "tv.weights.h5"
    run = subprocess.run(
        [
            sys.executable,
            "tools/convert_tinyvit.py",
            f"--checkpoint={pth}",
            "--variant=tiny_vit_5m",
            f"--output={out}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(pathlib.Path(__file__).resolve().parents[2]),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    model = build_pose_model("tiny_vit_5m", (64, 48))
    load_backbone_weights(model, "tiny_vit_5m", (64, 48), "frozen_bn", str(out))
    np.testing.assert_allclose(
        model.get_layer("patch_embed").conv1.conv.kernel.numpy(),
        np.transpose(ref.state_dict()["patch_embed.conv1.conv.weight"].numpy(), (2, 3, 1, 0)),
    )
