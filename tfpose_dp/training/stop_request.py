"""SIGTERM / Ctrl-C stop training between steps, never inside one.

A step (record in the ledger -> apply the update -> count it) is one unit: the handler only
sets a flag that the loop reads between steps, then the loop checkpoints and stops. A second
Ctrl-C stops at once without writing anything: the last checkpoint stays consistent, and an
update that was never saved was never released.
"""

import signal

from absl import logging


class Interrupted(Exception):
    """Training stopped on a signal after checkpointing; exit code 128 + signal number."""

    def __init__(self, signum, step, where=None):
        where = where or f"after step {step} (checkpoint saved)"
        super().__init__(f"stopped by signal {signum} {where}; run the same command to resume")
        self.signum, self.step = signum, step


class StopRequest:
    def __init__(self):
        self.signum = None

    def install(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        del frame
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # second Ctrl-C: stop now, keep the last checkpoint
        self.signum = signum
        logging.warning(
            "signal %d: stopping after the current step (Ctrl-C again to stop at once, "
            "without saving)",
            signum,
        )

    @property
    def requested(self):
        return self.signum is not None
