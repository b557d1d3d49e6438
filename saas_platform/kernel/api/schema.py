"""OpenAPI for the API (drf-spectacular): the error envelope on every operation's failure
statuses, the ``Idempotency-Key`` header on POST, ``?fields=`` on reads, and the rate headers."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from .idempotency import HEADER as IDEMPOTENCY_HEADER


class ErrorBodySerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. not_found.")
    message = serializers.CharField(help_text="What went wrong, for people.")
    details = serializers.JSONField(
        required=False, help_text="Field errors or limits, when there are any."
    )


class ErrorEnvelopeSerializer(serializers.Serializer[Any]):
    error = ErrorBodySerializer()


ERRORS_EVERYWHERE = {
    "401": "Missing, malformed, expired or revoked API key.",
    "403": "The key lacks the permission for this request.",
    "404": "No such object for this key (missing and not yours look the same).",
    "429": "Rate limit reached; wait Retry-After seconds.",
}
ERRORS_WITH_INPUT = {
    "400": "Invalid parameters or body; details name the fields.",
    "409": "Idempotency-Key conflict.",
    "413": "Request body too large.",
    "415": "Body is not application/json.",
}


class ApiAutoSchema(AutoSchema):
    def get_override_parameters(self) -> list[Any]:
        parameters: list[Any] = list(super().get_override_parameters())
        if self.method == "POST":
            parameters.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    required=False,
                    description="Retry-safe POST: the same key and body replay the first answer "
                    "for 24 h; another body with the key is a 409.",
                )
            )
        if self.method == "GET" and getattr(self.view, "sparse_fields", True):
            parameters.append(
                OpenApiParameter(
                    "fields",
                    OpenApiTypes.STR,
                    OpenApiParameter.QUERY,
                    required=False,
                    description="Comma-separated field names to return (default: all).",
                )
            )
        return parameters

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        errors = dict(ERRORS_EVERYWHERE)
        if self.method in ("POST", "PUT", "PATCH"):
            errors.update(ERRORS_WITH_INPUT)
        elif self.method == "GET":  # filters, paging, ordering, fields
            errors["400"] = ERRORS_WITH_INPUT["400"]
        for code, description in errors.items():
            if code not in responses:
                response = self._get_response_for_code(ErrorEnvelopeSerializer, code)  # type: ignore[no-untyped-call]
                response["description"] = description
                responses[code] = response
        return dict(sorted(responses.items()))
