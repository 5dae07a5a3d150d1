"""A registry of classes by short name: one implementation for task teachers and reward teachers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

ClassT = TypeVar("ClassT", bound=type[Any])


class Registry(Generic[ClassT]):
    """Short name -> class, filled by a class decorator; the class gets its name as ``cls.name``.

    :param kind: what is registered, for error messages (e.g. ``"teacher"``)
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._classes: dict[str, ClassT] = {}

    def decorator(self, name: str) -> Callable[[ClassT], ClassT]:
        """Class decorator registering its class under ``name`` (the same class may register twice)."""

        def decorate(cls: ClassT) -> ClassT:
            known = self._classes.get(name)
            if known is not None and known is not cls:
                raise ValueError(f"{self.kind} name {name!r} is already registered by {known.__name__}")
            cls.name = name
            self._classes[name] = cls
            return cls

        return decorate

    def classes(self) -> dict[str, ClassT]:
        """Name -> class of everything registered so far."""
        return dict(self._classes)

    def get(self, name: str) -> ClassT:
        """The class registered as ``name``; an unknown name is a ``ValueError`` listing the registered ones."""
        if name not in self._classes:
            raise ValueError(f"unknown {self.kind} {name!r}; registered: {sorted(self._classes)}")
        return self._classes[name]
