"""Converter parity against timm's TinyViT (random weights). Needs the `convert` extra."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

from tfpose_dp.models.tinyvit import build_backbone
from tfpose_dp.models.tinyvit_convert import canonical_name, load_state_dict, resample_bias_table

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")


def _random_timm(variant, **kwargs):
    torch.manual_seed(0)
    model = timm.create_model(f"{variant}_224", pretrained=False, num_classes=0, **kwargs)
    with torch.no_grad():  # random everything, BN statistics included, so no mapping hides
        for name, t in model.state_dict().items():
            if t.dtype.is_floating_point:
                if name.endswith("running_var"):
                    t.copy_(torch.rand_like(t) + 0.5)
                else:
                    t.copy_(torch.randn_like(t) * 0.2)
    return model.eval()


def _state(model):
    return {k: v.numpy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("size", [(224, 224), (256, 192)])
def test_keras_backbone_matches_timm_forward_features(size):
    ref = _random_timm("tiny_vit_5m")
    backbone = build_backbone("tiny_vit_5m", (*size, 3), norm="frozen_bn")
    load_state_dict(backbone, _state(ref))
    x = np.random.default_rng(1).normal(size=(2, *size, 3)).astype(np.float32)
    with torch.no_grad():
        expected = (
            ref.forward_features(torch.from_numpy(x).permute(0, 3, 1, 2))
            .permute(0, 2, 3, 1)
            .numpy()
        )
    got = backbone(x, training=False).numpy()
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) < 1e-4


@pytest.mark.parametrize("variant", ["tiny_vit_5m", "tiny_vit_11m", "tiny_vit_21m"])
def test_parameter_count_equals_timm_without_head_norm(variant):
    ref = timm.create_model(f"{variant}_224", pretrained=False, num_classes=0)
    timm_count = sum(p.numel() for n, p in ref.named_parameters() if not n.startswith("head."))
    backbone = build_backbone(variant, (224, 224, 3))
    ours = sum(int(np.prod(v.shape)) for v in backbone.trainable_weights)
    assert ours == timm_count


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


def test_official_layout_converts_like_timm_layout():
    ref = _random_timm("tiny_vit_5m")
    state = _state(ref)
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
    a = build_backbone("tiny_vit_5m", (64, 64, 3))
    b = build_backbone("tiny_vit_5m", (64, 64, 3))
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
    from tfpose_dp.models.pose_model import build_pose_model, load_backbone_weights

    ref = _random_timm("tiny_vit_5m")
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
