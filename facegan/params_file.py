"""params.yaml, written from the validated config: every knob's value (the default, or a preset's)
with its `Field(description=...)` as the comment, so a default and its comment are written once,
in facegan/config.py. `facegan params --write` rewrites params.yaml; a test checks the committed
file is this text.
"""

from __future__ import annotations

import inspect
import textwrap

import yaml
from pydantic.fields import FieldInfo

from facegan.config import Params, Section

COMMENT_COLUMN = 29  # where end-of-line comments start (later after a long key and value)
COMMENT_WIDTH = 83  # comment text per line, so lines stay within ~114 columns


class _Dumper(yaml.SafeDumper):
    """Lists in flow style ([1, 5]), as in a hand-written params.yaml."""


_Dumper.add_representer(list, lambda dumper, data: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", data, flow_style=True))


def params_text(params: Params | None = None) -> str:
    """The complete params.yaml for `params` (default: the defaults), comments included."""
    params = Params() if params is None else params
    values = params.model_dump(mode="json")
    lines = [f"# {line}".rstrip() for line in inspect.cleandoc(Params.__doc__).splitlines()]
    for name, field in Params.model_fields.items():
        section = getattr(params, name)
        if not isinstance(section, Section):
            lines += _commented(_yaml_line(name, values[name]), field)
            continue
        lines += ["", *_commented(f"{name}:", field)]
        for key, knob in type(section).model_fields.items():
            lines += _commented("  " + _yaml_line(key, values[name][key]), knob)
    return "\n".join(lines) + "\n"


def _yaml_line(key: str, value) -> str:
    text = yaml.dump({key: value}, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=float("inf"))
    assert text.count("\n") == 1, text  # one line per knob: the comments go beside it
    return text.rstrip("\n")


def _commented(line: str, field: FieldInfo) -> list[str]:
    """`line` with the field's description as its end-of-line comment, wrapped below it."""
    if not field.description:
        return [line]
    column = max(COMMENT_COLUMN, len(line) + 2)
    # a long key and value push the column right: the comment keeps to the same line length
    wrapped = textwrap.wrap(field.description, COMMENT_WIDTH - (column - COMMENT_COLUMN), break_on_hyphens=False)
    return [line.ljust(column) + f"# {wrapped[0]}"] + [" " * column + f"# {rest}" for rest in wrapped[1:]]
