"""Declared options of components, read from their constructors, and validated before a run starts.

A component declares its options the way Python code already does: the constructor's keyword parameters, their
type hints and defaults, and one ``:param name: help`` line each in the docstring. :func:`declared_options` reads
them (following ``**kwargs`` up the class hierarchy, as ALP-GMM's options continue in its base class), and
:func:`validate_options` checks a dict of options against them with pydantic: unknown names, wrong types and
values a type rules out are reported with the path of the field (``teacher_kwargs.fit_rate``), what was given and
what is allowed. Ranges that depend on other options (e.g. a memory longer than the fit window) are the
constructors' own checks; the composition root builds each component once before training to run them, and
reports their messages under the same path (:class:`OptionsError`).
"""

from __future__ import annotations

import inspect
import re
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pydantic

#: parameters that the composition root passes itself, never a config's options
INJECTED = frozenset({"self", "space", "seed", "env", "algo"})


class OptionsError(ValueError):
    """A config's options are wrong: the message names the field's path, what was given and what is allowed."""


@dataclass(frozen=True)
class DeclaredOption:
    """One option of a component.

    :param name: the keyword argument
    :param annotation: its type (``Any`` where the hint cannot be resolved)
    :param default: its default (``inspect.Parameter.empty``: required)
    :param help: the ``:param name:`` line of the docstring that declares it
    :param owner: the class or function that declares it
    """

    name: str
    annotation: Any
    default: Any
    help: str
    owner: str

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    def type_text(self) -> str:
        text = getattr(self.annotation, "__name__", None) if isinstance(self.annotation, type) else None
        return text or str(self.annotation).replace("typing.", "")


def _docstring_help(owner: Any) -> dict[str, str]:
    """``:param name: text`` of a class's or function's docstring (continuation lines joined)."""
    doc = inspect.getdoc(owner) or ""
    helps: dict[str, str] = {}
    current: str | None = None
    for line in doc.splitlines():
        match = re.match(r"\s*:param (\w+):\s*(.*)", line)
        if match:
            current = match.group(1)
            helps[current] = match.group(2).strip()
        elif current is not None and line.startswith(" ") and line.strip() and not line.strip().startswith(":"):
            helps[current] += " " + line.strip()
        else:
            current = None
    return helps


def _resolved_hints(function: Callable[..., Any]) -> dict[str, Any]:
    """Type hints of ``function``, each resolved on its own (a hint naming a type-checking-only name is Any)."""
    module = sys.modules.get(getattr(function, "__module__", ""), None)
    namespace = dict(vars(module)) if module is not None else {}
    hints: dict[str, Any] = {}
    for name, raw in getattr(function, "__annotations__", {}).items():
        if not isinstance(raw, str):
            hints[name] = raw
            continue
        try:
            hints[name] = eval(raw, namespace, dict(vars(typing)))
        except Exception:  # a name imported only under TYPE_CHECKING: accept any value, the constructor checks it
            hints[name] = Any
    return hints


def declared_options(component: Callable[..., Any], skip: frozenset[str] = INJECTED) -> dict[str, DeclaredOption]:
    """The keyword options of a class (its ``__init__``, following ``**kwargs`` into base classes) or function.

    :param component: a class or a function
    :param skip: parameters the caller injects itself
    """
    owners: list[tuple[Any, Callable[..., Any]]] = []
    if isinstance(component, type):
        for cls in component.__mro__:
            init = cls.__dict__.get("__init__")
            if init is None or cls is object:
                continue
            owners.append((cls, init))
            if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(init).parameters.values()):
                break
    else:
        owners.append((component, component))
    options: dict[str, DeclaredOption] = {}
    for owner, function in owners:
        hints = _resolved_hints(function)
        helps = _docstring_help(owner)
        for parameter in inspect.signature(function).parameters.values():
            if parameter.name in skip or parameter.name in options:
                continue
            if parameter.kind in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL):
                continue
            options[parameter.name] = DeclaredOption(
                name=parameter.name,
                annotation=hints.get(parameter.name, Any),
                default=parameter.default,
                help=helps.get(parameter.name, ""),
                owner=getattr(owner, "__qualname__", str(owner)),
            )
    return options


def _strict_bools(annotation: Any) -> Any:
    """``bool`` as a strict bool (pydantic would read the text "yes" or the number 2 as True), also inside unions."""
    if annotation is bool:
        return typing.Annotated[bool, pydantic.Strict()]
    args = typing.get_args(annotation)
    if args and bool in args and typing.get_origin(annotation) in (typing.Union, __import__("types").UnionType):
        return typing.Union[tuple(_strict_bools(a) for a in args)]  # noqa: UP007 - built from a runtime tuple
    return annotation


def _model_of(options: Mapping[str, DeclaredOption]) -> type[pydantic.BaseModel]:
    fields: dict[str, Any] = {
        name: (_strict_bools(option.annotation), ... if option.required else option.default)
        for name, option in options.items()
    }
    config = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    return pydantic.create_model("Options", __config__=config, **fields)


def _allowed(option: DeclaredOption | None) -> str:
    if option is None:
        return ""
    default = "required" if option.required else f"default {option.default!r}"
    return f"; allowed: {option.type_text()} ({default})"


def validate_options(
    values: Mapping[str, Any],
    options: Mapping[str, DeclaredOption],
    path: str,
    required: Sequence[str] = (),
    open_ended: bool = False,
) -> None:
    """Check ``values`` against declared options; raise :class:`OptionsError` for the first wrong field.

    :param values: the options a config gives
    :param options: what the component declares
    :param path: the config path of ``values`` (e.g. ``teacher_kwargs``)
    :param required: options that must be present although the component has a default (none by default)
    :param open_ended: the component passes names it does not declare on (``**kwargs`` into code that cannot be
        inspected): unknown names are left to it
    """
    if not isinstance(values, Mapping):
        raise OptionsError(f"{path}: must be a mapping of options, got {type(values).__name__} {values!r}")
    unknown = sorted(set(values) - set(options))
    if unknown and open_ended:
        values = {k: v for k, v in values.items() if k in options}
    elif unknown:
        raise OptionsError(f"{path}.{unknown[0]}: unknown option; allowed: {', '.join(sorted(options)) or 'none'}")
    for name in required:
        if name not in values:
            raise OptionsError(f"{path}.{name}: required{_allowed(options.get(name))}")
    try:
        _model_of(options).model_validate(dict(values))
    except pydantic.ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        name = str(first["loc"][0])
        if first["type"] == "missing":
            raise OptionsError(f"{path}.{field}: required, not given{_allowed(options.get(name))}") from None
        raise OptionsError(
            f"{path}.{field}: {first['msg'].lower()} (given {values.get(name)!r}){_allowed(options.get(name))}"
        ) from None


def constructor_error(
    err: Exception, options: Mapping[str, DeclaredOption], values: Mapping[str, Any], path: str
) -> OptionsError:
    """A component's own complaint about its options (a ``ValueError``/``TypeError`` from its constructor),
    under the path of the option it names (the first option named in the message; else the mapping's path)."""
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    named = [name for name in values if re.search(rf"\b{re.escape(name)}\b", message)]
    named += [name for name in options if name not in named and re.search(rf"\b{re.escape(name)}\b", message)]
    where = f"{path}.{named[0]}" if named else path
    value = values.get(named[0]) if named else None
    shown = named and named[0] in values and repr(value) not in message and str(value) not in message
    given = f" (given {value!r})" if shown else ""
    return OptionsError(f"{where}: {message}{given}")


def describe(component: Callable[..., Any], title: str, skip: frozenset[str] = INJECTED) -> str:
    """A plain-text table of a component's options: name, type, default, help."""
    options = declared_options(component, skip)
    summary = (inspect.getdoc(component) or "").split("\n\n")[0].replace("\n", " ")
    lines = [title, summary, "", "options:"]
    width = max((len(name) for name in options), default=4)
    for option in options.values():
        default = "(required)" if option.required else repr(option.default)
        lines.append(f"  {option.name:<{width}}  {option.type_text()} = {default}")
        if option.help:
            lines.append(f"  {'':<{width}}    {option.help}")
    if not options:
        lines.append("  (none)")
    return "\n".join(lines)
