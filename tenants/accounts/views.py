"""The invitation link: checks the token on the agency whose domain it was opened on, then
sends the visitor to sign up (or in) with the invitation remembered in their session."""

from __future__ import annotations

from typing import Any

from allauth.account.views import ConfirmEmailView
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from saas_platform.kernel.errors import ApplicationError

from .. import selectors, services
from ..request import TenantRequest
from .realm import SESSION_INVITATION_KEY


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    req: TenantRequest = request  # type: ignore[assignment]
    if req.agency is None:
        return render(request, "portal/invitation_invalid.html", status=404)
    try:
        invitation = services.invitation_from_token(agency=req.agency, token=token)
    except ApplicationError as error:
        return render(
            request, "portal/invitation_invalid.html", {"reason": error.message}, status=404
        )
    user = req.user
    if user.is_authenticated:
        try:
            services.invitation_accept(invitation=invitation, user=user)
        except ApplicationError as error:
            return render(
                request, "portal/invitation_invalid.html", {"reason": error.message}, status=404
            )
        messages.success(
            request, _("You have joined %(name)s.") % {"name": invitation.location.name}
        )
        return redirect("portal:home")
    request.session[SESSION_INVITATION_KEY] = token
    if selectors.user_find(agency=req.agency, email=invitation.email) is not None:
        messages.info(
            request,
            _("Sign in as %(email)s to join %(name)s.")
            % {"email": invitation.email, "name": invitation.location.name},
        )
        return redirect("account_login")
    return redirect("account_signup")


class RealmConfirmEmailView(ConfirmEmailView):  # type: ignore[misc]
    """allauth's confirmation page, for this agency's accounts only: another agency's key is an
    invalid link here (it would otherwise show, and confirm, that account's address)."""

    def get_object(self, queryset: Any = None) -> Any:
        confirmation = super().get_object(queryset)
        agency = getattr(self.request, "agency", None)
        if agency is None or confirmation.email_address.user.agency_id != agency.pk:
            raise Http404
        return confirmation


confirm_email = RealmConfirmEmailView.as_view()
