"""A plugin registry keyed by ``type``: built-ins are named as ``module:function`` and imported on
first use, so importing openlfr loads no model and no native library."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Generic, TypeVar

from openlfr.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a config's ``type`` to a factory that builds the plugin from that config."""

    def __init__(self, kind: str, builtins: dict[str, str]) -> None:
        self._kind = kind
        self._builtins = dict(builtins)
        self._factories: dict[str, Callable[[object], T]] = {}

    def register(self, type_: str, factory: Callable[[object], T]) -> None:
        """Make ``type_`` available (for a user's own plugin); the factory takes the config object."""
        self._factories[type_] = factory

    def types(self) -> list[str]:
        return sorted(set(self._builtins) | set(self._factories))

    def create(self, config: object) -> T:
        type_ = getattr(config, "type", None)
        known = ", ".join(self.types())
        if not isinstance(type_, str):
            raise ConfigError(f"{self._kind} config has no 'type'; known types: {known}")
        factory = self._factories.get(type_)
        if factory is None and type_ in self._builtins:
            module, func = self._builtins[type_].split(":")
            factory = getattr(importlib.import_module(module), func)
            self._factories[type_] = factory
        if factory is None:
            raise ConfigError(f"unknown {self._kind} type {type_!r}; known types: {known}")
        return factory(config)
