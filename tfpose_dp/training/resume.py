"""Resuming a run: refuse settings that change the mechanism or its accounting, and check
that the checkpoint's step, optimizer iteration counter and privacy ledger agree."""
from tfpose_dp.training.config import ConfigError

# Saved run settings a resume must repeat, and the flag that sets each.
FIXED_ON_RESUME = {
    "num_private_examples": "the private data (N)", "batch_size": "--batch_size",
    "nonprivate": "--nonprivate", "model": "--model", "input_size": "--input_size", "seed": "--seed",
    "epsilon_target": "--epsilon", "delta": "--delta", "accountant": "--accountant",
    "l2_norm_clip": "--l2_norm_clip", "projection": "--projection", "trainable": "--trainable",
    "optimizer": "--optimizer", "norm": "--norm", "reproducible_noise": "--reproducible_noise",
    "init_from": "--init_from", "synthetic_domain": "--synthetic_domain",
}


def check_resume(saved, now, model_dir):
    """Raises ConfigError naming the first setting of `now` that differs from the saved run's."""
    for key, flag in FIXED_ON_RESUME.items():
        if key in now and saved.get(key) != now[key]:
            raise ConfigError(
                f"--model_dir={model_dir} holds a run with {flag}={saved.get(key)!r}, now {now[key]!r}: "
                "resume with the same settings or choose a new --model_dir")


def check_restored_step(ckpt_dir, state_step, optimizer_iterations, ledger_steps=None):
    """The step in state.json must equal the optimizer's counter (which keys the noise) and,
    for a private run, the ledger's step count: otherwise a step could be released twice."""
    if optimizer_iterations != state_step or (ledger_steps is not None and ledger_steps != state_step):
        raise ConfigError(
            f"checkpoint {ckpt_dir} is inconsistent: state step {state_step}, optimizer iterations "
            f"{optimizer_iterations}, ledger steps {ledger_steps}. Resume from an earlier ckpt-* "
            "folder (point checkpoints/latest at it) or start a new --model_dir")
