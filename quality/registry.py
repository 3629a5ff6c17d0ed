"""A registry that refuses duplicates: the one mechanism by which rule types and their engine
implementations are looked up. No metaclasses, no import-time discovery beyond explicit registration."""

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from quality.exceptions import DuplicateRuleError, UnknownRuleError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, what: str) -> None:
        self._what = what
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            raise DuplicateRuleError(f"{self._what} {name!r} is already registered")
        self._items[name] = item
        return item

    def add(self, name: str) -> Callable[[T], T]:
        """Decorator form of `register`."""

        def deco(item: T) -> T:
            return self.register(name, item)

        return deco

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownRuleError(f"unknown {self._what} {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())
