"""One field of the run configuration: its default, help text and what validation accepts."""

import dataclasses


def setting(default, help_text, choices=None, fixed=False, at_least=None, above=None, flag=True):
    """A config field. `fixed`: a resumed run must repeat it (it changes the mechanism, its
    accounting or the meaning of the checkpoint); `choices`, `at_least`, `above`: what
    `validate` accepts; `flag=False`: no flag (the run fills it in as it starts)."""
    return dataclasses.field(
        default=default,
        metadata={
            "help": help_text,
            "choices": choices,
            "fixed": fixed,
            "at_least": at_least,
            "above": above,
            "flag": flag,
        },
    )
