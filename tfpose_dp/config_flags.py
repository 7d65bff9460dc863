"""absl flags from the run configuration's fields: one flag per field, with its name, type,
default, help and choices; and the RunConfig those flags describe."""

import dataclasses
import typing

from absl import flags

from tfpose_dp.cli_help import module_name
from tfpose_dp.run_config import SECTIONS, RunConfig

FLAGS = flags.FLAGS


def _define(field, section):
    name, default, meta = field.name, field.default, field.metadata
    help_text, choices = meta["help"], meta.get("choices")
    where = {"module_name": module_name(section)}  # --help lists the flags by section
    kind = (
        typing.get_args(field.type)[0]
        if typing.get_origin(field.type) is typing.Union
        else field.type
    )
    if choices:
        flags.DEFINE_enum(name, default, list(choices), help_text, **where)
    elif kind is bool:
        flags.DEFINE_bool(name, default, help_text, **where)
    elif kind is int:
        flags.DEFINE_integer(name, default, help_text, **where)
    elif kind is float:
        flags.DEFINE_float(name, default, help_text, **where)
    elif kind is str:
        flags.DEFINE_string(name, default, help_text, **where)
    elif typing.get_origin(kind) is tuple:
        flags.DEFINE_list(name, [str(v) for v in default], help_text, **where)
    else:
        raise TypeError(f"config field {name} has a type flags cannot express: {field.type}")


def define_flags(*section_names, only=None):
    """Defines the flags of the named sections (all by default), or of the fields named in
    `only`; each flag once per process."""
    for name in section_names or SECTIONS:
        for field in dataclasses.fields(SECTIONS[name]):
            wanted = only is None or field.name in only
            if field.metadata["flag"] and field.name not in FLAGS and wanted:
                _define(field, name)


def _value(field):
    value = FLAGS[field.name].value
    if typing.get_origin(field.type) is tuple:
        try:
            value = tuple(int(v) for v in value)
        except ValueError as e:
            raise flags.ValidationError(f"--{field.name}={','.join(value)} must be integers") from e
        if len(value) != len(field.default):
            raise flags.ValidationError(
                f"--{field.name}={','.join(map(str, value))} must have "
                f"{len(field.default)} values, e.g. {','.join(map(str, field.default))}"
            )
    return value


def config_from_flags(*section_names):
    """The RunConfig the parsed flags describe (sections not named keep their defaults)."""
    values = {}
    for name in section_names or SECTIONS:
        for field in dataclasses.fields(SECTIONS[name]):
            if field.metadata["flag"]:
                values[field.name] = _value(field)
    return RunConfig.from_flat(values)
