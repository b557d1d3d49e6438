"""The portal's API keys page (``/app/l/<id>/api-keys/``, the business's admins): the location's
keys with prefix, permissions, last use and expiry; a new key is shown once on the answer to its
creation; revoking takes effect on the key's next request."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from saas_platform.kernel.errors import ApplicationError

from ..models import Location
from ..portal import location_page
from ..request import actor
from .forms import ApiKeyForm
from .keys import IssuedKey, api_key_create, api_key_revoke
from .models import ApiKey

TEMPLATE = "portal/api_keys.html"


def _keys(location: Location) -> list[ApiKey]:
    return list(
        ApiKey.objects.for_agency(location.agency)
        .filter(location=location)
        .order_by("revoked_at", "-created_at")[:200]
    )


@never_cache
@location_page(section="api_keys", access="admin")
def api_keys(request: HttpRequest, location: Location) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    issued: IssuedKey | None = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = api_key_create(
                agency=location.agency,
                location=location,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
                acting_user=actor(request),
            )
            form = ApiKeyForm()  # an empty form under the key shown once
        except ApplicationError as error:
            form.add_error(None, error.message)
    context = {"location": location, "form": form, "issued": issued, "keys": _keys(location)}
    return render(request, TEMPLATE, context)


@require_POST
@location_page(section="api_keys", access="admin")
def api_key_revoke_view(request: HttpRequest, location: Location, key_id: int) -> HttpResponse:
    key = ApiKey.objects.for_agency(location.agency).filter(location=location, pk=key_id).first()
    if key is None:
        raise Http404
    api_key_revoke(key=key, acting_user=actor(request))
    messages.success(request, f"The key “{key.name}” ({key.prefix}…) no longer works.")
    return redirect("portal:api-keys", location_id=location.pk)
