"""The base of every argument group, the general group every command has, and the checks the groups share."""
from dataclasses import dataclass, field
from typing import Any, List, Optional

from swift.utils import SwiftError, did_you_mean
from swift.utils.args import aliases, unknown_keys_message


def override(group: type, name: str, default: Any) -> Any:
    """The field `name` of `group` with another default and the same help, for a command whose default
    differs (`swift pt` trains every token: `loss_scale: str = override(DataArguments, 'loss_scale', 'all')`)."""
    original = group.__dataclass_fields__[name]
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: type(default)(default), metadata=original.metadata)
    return field(default=default, metadata=original.metadata)


def check_choice(flag: str, value: Any, choices) -> None:
    """A SwiftError naming the flag, the value and the choices when value is not one of them."""
    if value not in choices:
        raise SwiftError(f'--{flag} must be one of {", ".join(map(str, choices))}, not {value!r}.'
                         f'{did_you_mean(str(value), [str(c) for c in choices])}')


def check_range(flag: str, value, low=None, high=None, what: str = '') -> None:
    """A SwiftError when value lies outside [low, high] (either bound may be None)."""
    if value is None:
        return
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = what or (f'>= {low}' if high is None else f'<= {high}' if low is None else f'in [{low}, {high}]')
        raise SwiftError(f'--{flag} must be {bounds}, got {value!r}')


@dataclass
class ArgumentGroup:
    """Base of every group: each group's __post_init__ checks its own fields after calling super(), so a
    command composed of several groups runs every group's checks once."""

    def __post_init__(self):
        pass


@dataclass
class BaseArguments(ArgumentGroup):
    GROUP_TITLE = 'general'

    external_plugins: List[str] = field(
        default_factory=list, metadata={'help': 'Python files whose register_* calls add models, templates, ...'})
    seed: int = field(default=42, metadata={'help': 'random seed'})

    @classmethod
    def foreign_key(cls, key: str) -> Optional[str]:
        """Why --key is refused when another command takes it ("--temperature is an option of swift infer, ...")."""
        from .commands import COMMAND_ARGUMENTS  # the commands compose this class: imported when asked
        this = ([name for name, command in COMMAND_ARGUMENTS.items() if command is cls]
                or [name for name, command in COMMAND_ARGUMENTS.items() if issubclass(cls, command)])
        owners = [name for name, command in COMMAND_ARGUMENTS.items()
                  if name not in this and key in command.__dataclass_fields__]
        if not owners:
            return None
        return f'--{key} is an option of swift {", ".join(owners)}, not of swift {this[0] if this else "this command"}'

    @classmethod
    def unsupported_key(cls, key: str) -> Optional[str]:
        """Why an ms-swift flag swift does not have is refused, and what to use (swift/arguments/unsupported.py)."""
        from .unsupported import unsupported_flag_message
        return unsupported_flag_message(key, takes_engine_kwargs='engine_kwargs' in cls.__dataclass_fields__)

    @classmethod
    def check_keys(cls, keys) -> None:
        """A SwiftError listing every key that is not an argument of this command (as parse_args reports them)."""
        known = set(cls.__dataclass_fields__) | set(aliases(cls))
        unknown = [key for key in keys if key not in known]
        if unknown:
            raise SwiftError(unknown_keys_message(cls, unknown))
