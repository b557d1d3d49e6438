"""Customers, products, prices, PaymentMethods, events and webhook endpoints."""

from __future__ import annotations

from typing import Any

from sandbox.stripe import payments
from sandbox.stripe.api.common import Call, Routes, on_platform, one_of
from sandbox.stripe.errors import invalid
from sandbox.stripe.store import as_bool, metadata, new_id, public

INTERVALS = ("day", "week", "month", "year")


def _deleted(obj: dict[str, Any]) -> dict[str, Any]:
    obj["deleted"] = True
    return {"id": obj["id"], "object": obj["object"], "deleted": True}


# -- customers ---------------------------------------------------------------------------
CUSTOMER_FIELDS = (
    "email",
    "name",
    "description",
    "phone",
    "metadata",
    "payment_method",
    "invoice_settings",
)


def customer_create(call: Call) -> dict[str, Any]:
    call.check(CUSTOMER_FIELDS)
    state = call.state
    customer = state.store.add(
        call.account,
        {
            "id": new_id("cus"),
            "object": "customer",
            "created": state.now(),
            "livemode": False,
            "email": None,
            "name": None,
            "description": None,
            "phone": None,
            "balance": 0,
            "currency": None,
            "delinquent": False,
            "metadata": {},
            "invoice_settings": {"default_payment_method": None},
        },
    )
    try:
        _customer_apply(call, customer)
    except Exception:
        del state.store.spaces[call.account][customer["id"]]  # bad input stores nothing
        raise
    state.emit(call.account, "customer.created", customer)
    return customer


def _customer_apply(call: Call, customer: dict[str, Any]) -> None:
    for name in ("email", "name", "description", "phone"):
        if name in call.params:
            customer[name] = call.text(name) or None
    if "metadata" in call.params:
        customer["metadata"] = metadata(call.params["metadata"], customer["metadata"])
    if call.params.get("payment_method"):
        pm = payments.resolve(
            call.state, call.account, str(call.params["payment_method"]), "payment_method"
        )
        payments.attach(call.state, call.account, pm, customer["id"])
    default = call.mapping("invoice_settings").get("default_payment_method")
    if default:
        pm = payments.resolve(
            call.state, call.account, default, "invoice_settings[default_payment_method]"
        )
        if pm["customer"] is None:
            payments.attach(call.state, call.account, pm, customer["id"])
        elif pm["customer"] != customer["id"]:
            raise invalid(
                "The PaymentMethod is attached to another customer.",
                "invoice_settings[default_payment_method]",
            )
        customer["invoice_settings"]["default_payment_method"] = pm["id"]


def customer_update(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    call.check(CUSTOMER_FIELDS)
    customer = call.get(id, "customer")
    previous = public(customer)
    _customer_apply(call, customer)
    changed = {key: previous[key] for key in previous if previous[key] != customer.get(key)}
    if changed:
        call.state.emit(call.account, "customer.updated", customer, changed)
    return customer


def customer_list(call: Call) -> dict[str, Any]:
    call.check(("limit", "starting_after", "ending_before", "email"))
    email = call.text("email")
    return call.list_of("customer", lambda c: email is None or c["email"] == email)


def customer_delete(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    customer = call.get(id, "customer")
    call.state.emit(call.account, "customer.deleted", customer)
    return _deleted(customer)


# -- products and prices -------------------------------------------------------------------
def product_create(call: Call) -> dict[str, Any]:
    call.check(
        ("name", "description", "active", "metadata", "id", "default_price_data"),
        required=("name",),
    )
    now = call.state.now()
    product: dict[str, Any] = {
        "id": call.text("id") or new_id("prod", 14),
        "object": "product",
        "created": now,
        "updated": now,
        "name": call.text("name"),
        "description": call.text("description"),
        "active": as_bool(call.params.get("active", True), "active"),
        "default_price": None,
        "livemode": False,
        "metadata": metadata(call.params.get("metadata", {})),
    }
    if call.state.store.find(call.account, product["id"]):
        raise invalid(f"Product already exists: {product['id']}", "id", "resource_already_exists")
    call.state.store.add(call.account, product)
    return product


def product_update(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    call.check(("name", "description", "active", "metadata", "default_price"))
    product = call.get(id, "product")
    for name in ("name", "description", "default_price"):
        if name in call.params:
            product[name] = call.text(name) or None
    if "active" in call.params:
        product["active"] = as_bool(call.params["active"], "active")
    if "metadata" in call.params:
        product["metadata"] = metadata(call.params["metadata"], product["metadata"])
    product["updated"] = call.state.now()
    return product


def price_create(call: Call) -> dict[str, Any]:
    call.check(
        (
            "currency",
            "unit_amount",
            "product",
            "product_data",
            "recurring",
            "nickname",
            "lookup_key",
            "active",
            "metadata",
        ),
        required=("currency",),
    )
    product_id = call.params.get("product")
    name = call.mapping("product_data").get("name")
    if product_id:
        call.get(str(product_id), "product", "product")
    elif not call.params.get("product_data"):
        raise invalid("Missing required param: product.", "product", "parameter_missing")
    elif not name:
        raise invalid(
            "Missing required param: product_data[name].", "product_data[name]", "parameter_missing"
        )
    amount = call.integer("unit_amount")
    if amount is None or amount < 0:
        raise invalid(
            "Missing required param: unit_amount (a non-negative integer).",
            "unit_amount",
            "parameter_missing",
        )
    recurring = None
    if "recurring" in call.params:
        raw = call.mapping("recurring")
        interval = one_of(raw.get("interval"), INTERVALS, "recurring[interval]")
        count = int(raw.get("interval_count") or 1)
        recurring = {
            "interval": interval,
            "interval_count": count,
            "usage_type": "licensed",
            "meter": None,
            "trial_period_days": None,
        }
    currency = str(call.text("currency")).lower()
    if len(currency) != 3:
        raise invalid(f"Invalid currency: {currency}", "currency")
    if not product_id:
        # Created only now, once every parameter is valid: bad input stores nothing.
        product_id = call.state.store.add(
            call.account,
            {
                "id": new_id("prod", 14),
                "object": "product",
                "created": call.state.now(),
                "updated": call.state.now(),
                "name": name,
                "description": None,
                "active": True,
                "default_price": None,
                "livemode": False,
                "metadata": {},
            },
        )["id"]
    return call.state.store.add(
        call.account,
        {
            "id": new_id("price"),
            "object": "price",
            "created": call.state.now(),
            "livemode": False,
            "active": as_bool(call.params.get("active", True), "active"),
            "currency": currency,
            "unit_amount": amount,
            "unit_amount_decimal": str(amount),
            "product": product_id,
            "recurring": recurring,
            "type": "recurring" if recurring else "one_time",
            "billing_scheme": "per_unit",
            "nickname": call.text("nickname"),
            "lookup_key": call.text("lookup_key"),
            "tax_behavior": "unspecified",
            "metadata": metadata(call.params.get("metadata", {})),
        },
    )


def price_update(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    call.check(("active", "nickname", "metadata", "lookup_key"))
    price = call.get(id, "price")
    if "active" in call.params:
        price["active"] = as_bool(call.params["active"], "active")
    for name in ("nickname", "lookup_key"):
        if name in call.params:
            price[name] = call.text(name) or None
    if "metadata" in call.params:
        price["metadata"] = metadata(call.params["metadata"], price["metadata"])
    return price


def price_list(call: Call) -> dict[str, Any]:
    call.check(("limit", "starting_after", "ending_before", "product", "active", "type"))
    product, kind = call.text("product"), call.text("type")
    active = as_bool(call.params["active"], "active") if "active" in call.params else None
    return call.list_of(
        "price",
        lambda p: (
            (product is None or p["product"] == product)
            and (active is None or p["active"] == active)
            and (kind is None or p["type"] == kind)
        ),
    )


# -- payment methods -------------------------------------------------------------------------
def payment_method_attach(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    call.check(("customer",), required=("customer",))
    pm = payments.resolve(call.state, call.account, id, "payment_method")
    payments.attach(call.state, call.account, pm, str(call.params["customer"]))
    return pm


def payment_method_list(call: Call) -> dict[str, Any]:
    call.check(("limit", "starting_after", "ending_before", "customer", "type"))
    customer = call.text("customer")
    return call.list_of("payment_method", lambda p: customer is None or p["customer"] == customer)


def customer_payment_methods(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    call.check(("limit", "starting_after", "ending_before", "type"))
    call.get(id, "customer")
    return call.list_of("payment_method", lambda p: p["customer"] == id)


# -- events and webhook endpoints ---------------------------------------------------------------
def event_list(call: Call) -> dict[str, Any]:
    call.check(("limit", "starting_after", "ending_before", "type", "types", "created"))
    kind, kinds = call.text("type"), set(call.array("types"))

    def wanted(event: dict[str, Any]) -> bool:
        if kind and not (
            event["type"] == kind or (kind.endswith(".*") and event["type"].startswith(kind[:-1]))
        ):
            return False
        return not kinds or event["type"] in kinds

    return call.list_of("event", wanted)


def endpoint_create(call: Call) -> dict[str, Any]:
    on_platform(call, "Webhook endpoints")
    call.check(
        ("url", "enabled_events", "connect", "description", "metadata", "api_version"),
        required=("url", "enabled_events"),
    )
    url = str(call.text("url"))
    if not url.startswith(("http://", "https://")):
        raise invalid(f"Invalid URL: {url}", "url", "url_invalid")
    secret = new_id("whsec", 32)
    endpoint = call.state.store.add(
        call.account,
        {
            "id": new_id("we"),
            "object": "webhook_endpoint",
            "created": call.state.now(),
            "url": url,
            "enabled_events": call.array("enabled_events"),
            "status": "enabled",
            "api_version": call.text("api_version"),
            "description": call.text("description"),
            "application": None,
            "livemode": False,
            "metadata": metadata(call.params.get("metadata", {})),
            "_secret": secret,
            "_connect": as_bool(call.params.get("connect", False), "connect"),
        },
    )
    # The secret is returned once, at creation, as on Stripe.
    return dict(public(endpoint), secret=secret)


def endpoint_delete(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
    return _deleted(call.get(id, "webhook_endpoint"))


def retrieve(object_type: str) -> Any:
    def handler(call: Call, id: str) -> dict[str, Any]:  # noqa: A002
        call.check(())
        return call.get(id, object_type)

    return handler


def listing(object_type: str) -> Any:
    def handler(call: Call) -> dict[str, Any]:
        call.check(("limit", "starting_after", "ending_before"))
        return call.list_of(object_type)

    return handler


ROUTES: Routes = [
    ("POST", "/v1/customers", customer_create),
    ("GET", "/v1/customers", customer_list),
    ("GET", "/v1/customers/{id}", retrieve("customer")),
    ("POST", "/v1/customers/{id}", customer_update),
    ("DELETE", "/v1/customers/{id}", customer_delete),
    ("GET", "/v1/customers/{id}/payment_methods", customer_payment_methods),
    ("POST", "/v1/products", product_create),
    ("GET", "/v1/products", listing("product")),
    ("GET", "/v1/products/{id}", retrieve("product")),
    ("POST", "/v1/products/{id}", product_update),
    ("POST", "/v1/prices", price_create),
    ("GET", "/v1/prices", price_list),
    ("GET", "/v1/prices/{id}", retrieve("price")),
    ("POST", "/v1/prices/{id}", price_update),
    ("GET", "/v1/payment_methods", payment_method_list),
    ("GET", "/v1/payment_methods/{id}", retrieve("payment_method")),
    ("POST", "/v1/payment_methods/{id}/attach", payment_method_attach),
    ("GET", "/v1/events", event_list),
    ("GET", "/v1/events/{id}", retrieve("event")),
    ("POST", "/v1/webhook_endpoints", endpoint_create),
    ("GET", "/v1/webhook_endpoints", listing("webhook_endpoint")),
    ("GET", "/v1/webhook_endpoints/{id}", retrieve("webhook_endpoint")),
    ("DELETE", "/v1/webhook_endpoints/{id}", endpoint_delete),
    ("GET", "/v1/payment_intents/{id}", retrieve("payment_intent")),
    ("GET", "/v1/charges/{id}", retrieve("charge")),
    ("GET", "/v1/charges", listing("charge")),
]
