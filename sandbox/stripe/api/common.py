"""What every endpoint handler gets, and the parameter checks they share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sandbox.stripe.errors import invalid, missing_param, unknown_param
from sandbox.stripe.state import StripeState
from sandbox.stripe.store import PLATFORM, as_int


@dataclass
class Call:
    state: StripeState
    account: str  # PLATFORM or the connected account named by Stripe-Account
    params: dict[str, Any]
    path: str

    def check(self, allowed: Iterable[str], required: Iterable[str] = ()) -> None:
        """Unknown top-level parameters and missing required ones are 400s, as on Stripe."""
        known = {*allowed, "expand"}
        for name in self.params:
            if name not in known:
                raise unknown_param(name)
        for name in required:
            if self.params.get(name) in (None, ""):
                raise missing_param(name)

    def get(self, object_id: str, object_type: str, param: str = "id") -> dict[str, Any]:
        return self.state.store.get(self.account, object_id, object_type, param)

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.params.get(name, default)
        if value is not None and not isinstance(value, str):
            raise invalid(
                f"Invalid string: {name} must be a string", name, "parameter_invalid_string"
            )
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.params.get(name)
        return default if value in (None, "") else as_int(value, name)

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.params.get(name) or {}
        if not isinstance(value, dict):
            raise invalid(f"Invalid hash: {name} must be a hash", name, "parameter_invalid_hash")
        return value

    def array(self, name: str) -> list[Any]:
        value = self.params.get(name) or []
        if isinstance(value, dict):  # sparse indexes such as items[1] alone
            value = [value[key] for key in sorted(value)]
        if not isinstance(value, list):
            raise invalid(
                f"Invalid array: {name} must be an array", name, "parameter_invalid_array"
            )
        return value

    def list_of(
        self,
        object_type: str,
        where: Callable[[dict[str, Any]], bool] | None = None,
        account: str | None = None,
    ) -> dict[str, Any]:
        space = self.account if account is None else account
        rows = self.state.store.all(space, object_type, where)
        return self.state.store.page(space, rows, self.params, self.path)


def one_of(value: Any, choices: Iterable[str], param: str) -> str:
    options = list(choices)
    if value not in options:
        raise invalid(f"Invalid {param}: must be one of {', '.join(options)}", param)
    return str(value)


def on_platform(call: Call, what: str) -> None:
    if call.account != PLATFORM:
        raise invalid(f"{what} can only be managed by the platform (without Stripe-Account).")


Handler = Callable[..., dict[str, Any]]
Routes = list[tuple[str, str, Handler]]
