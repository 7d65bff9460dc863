"""Resuming a run: refuse settings that change the mechanism or its accounting, and check
that the checkpoint's step, optimizer iteration counter and privacy ledger agree."""

from tfpose_dp.run_config import ConfigError, changed_fixed_fields


def check_resume(saved, now, num_private_examples, model_dir):
    """Raises ConfigError naming the first `fixed` setting of config `now` that differs from
    the saved manifest's (both resolved: the norm actually used, delta, absolute paths), or a
    private set of another size (changed data, or audit coins of another key)."""
    if saved.num_private_examples != num_private_examples:
        raise ConfigError(
            f"--model_dir={model_dir} holds a run on N={saved.num_private_examples} private "
            f"examples, the data now gives N={num_private_examples}: resume on the same data (and "
            "with its MODEL_DIR/private/dp_key) or choose a new --model_dir"
        )
    changed = changed_fixed_fields(saved.config, now)
    if changed:
        name, before, after = changed[0]
        raise ConfigError(
            f"--model_dir={model_dir} holds a run with --{name}={before!r}, now {after!r}: resume "
            "with "
            "the same settings or choose a new --model_dir"
        )


def check_restored_step(ckpt_dir, state_step, optimizer_iterations, ledger_steps=None):
    """The step in state.json must equal the optimizer's counter (which keys the noise) and,
    for a private run, the ledger's trained steps (its steps less the discarded ones):
    otherwise a step could be released twice or go uncharged."""
    if optimizer_iterations != state_step or (
        ledger_steps is not None and ledger_steps != state_step
    ):
        raise ConfigError(
            f"checkpoint {ckpt_dir} is inconsistent: state step {state_step}, optimizer iterations "
            f"{optimizer_iterations}, ledger steps {ledger_steps}. Resume from an earlier ckpt-* "
            "folder (point checkpoints/latest at it: the steps released after it stay charged "
            "and are re-run with fresh noise) or start a new --model_dir"
        )
