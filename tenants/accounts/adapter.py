"""allauth, adapted to a multi-agency portal.

* Accounts are created in the request's agency; sign-up is open with an invitation, or without
  one where the agency allows self-sign-up.
* Emails are sent in the agency's name and brand, and every link in them is built on the agency's
  primary verified domain, whatever Host the request came in on.
* A login is refused unless the account belongs to the agency of the domain it happens on.
* Failed logins are counted per account within the agency (and per IP, by allauth).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.stagekit import clear_login
from allauth.mfa.adapter import DefaultMFAAdapter
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from saas_platform.kernel.errors import ApplicationError
from saas_platform.kernel.logging import get_logger

from .. import selectors, services
from ..mail import branded_mail_build
from ..models import Agency, User
from .realm import SESSION_INVITATION_KEY, pending_invitation, request_agency

log = get_logger(__name__)


class PortalAccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]  # allauth ships no types
    def _agency(self) -> Agency | None:
        return request_agency(self.request)

    # --- sign-up ---------------------------------------------------------------------------------

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        agency = request_agency(request)
        if agency is None:
            return False  # the platform's own hosts have no portal accounts
        return agency.allow_self_signup or pending_invitation(request) is not None

    def new_user(self, request: HttpRequest) -> User:
        return User(agency=request_agency(request))

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> User:
        saved: User = super().save_user(request, user, form, commit=False)
        saved.agency = request_agency(request)
        saved.full_name = form.cleaned_data.get("full_name", "")
        if commit:
            saved.save()
        return saved

    # --- login -----------------------------------------------------------------------------------

    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
        agency = request_agency(request)
        if user.agency_id != (agency.pk if agency else None):
            # A reset or confirmation link of another realm's account, replayed on this domain.
            log.warning(
                "tenants.login.realm_mismatch",
                user_id=user.pk,
                request_agency_id=agency.pk if agency else None,
            )
            clear_login(request)
            messages.error(request, _("This account cannot sign in here."))
            return HttpResponseRedirect(reverse("account_login"))
        response: HttpResponse | None = super().pre_login(request, user, **kwargs)
        return response

    def post_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse:
        invitation = pending_invitation(request)
        if invitation is not None and invitation.email.lower() == user.email.lower():
            try:
                services.invitation_accept(invitation=invitation, user=user)
            except ApplicationError as error:
                messages.error(request, error.message)
            request.session.pop(SESSION_INVITATION_KEY, None)
        response: HttpResponse = super().post_login(request, user, **kwargs)
        return response

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # Per account: the same email is another account on another agency, and one account is
        # reachable on several domains of its agency.
        agency = request_agency(request)
        login = str(credentials.get("email", credentials.get("username", ""))).strip().lower()
        return f"{agency.pk if agency else 'platform'}:{login}"

    # --- email -----------------------------------------------------------------------------------

    def _portal_url(self, path: str) -> str:
        agency = self._agency()
        if agency is None:
            raise ApplicationError("Portal emails are sent only from an agency's portal.")
        return selectors.agency_portal_url(agency, path)

    def get_email_confirmation_url(self, request: HttpRequest, emailconfirmation: Any) -> str:
        return self._portal_url(reverse("account_confirm_email", args=[emailconfirmation.key]))

    def get_reset_password_from_key_url(self, key: str) -> str:
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return self._portal_url(path.replace("UID-KEY", quote(key)))

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        agency = self._agency()
        if agency is None:
            raise ApplicationError("Portal emails are sent only from an agency's portal.")
        ctx = {
            "email": email,
            "portal_url": self._portal_url("/"),
            "password_reset_url": self._portal_url(reverse("account_reset_password")),
            "signup_url": self._portal_url(reverse("account_signup")),
            **context,
        }
        # allauth's own templates mention `current_site`; it must be the agency, not the Host.
        ctx["current_site"] = _Site(
            domain=selectors.agency_primary_domain(agency), name=agency.branding.display_name
        )
        ctx["action_url"] = ctx.get("activate_url") or ctx.get("password_reset_url")
        if "activate_url" in ctx:
            ctx["action_label"] = _("Confirm your email")
        elif template_prefix.endswith("password_reset_key"):
            ctx["action_label"] = _("Choose a new password")
        else:
            ctx.pop("action_url")
        branded_mail_build(
            agency=agency, template_prefix=template_prefix, to=[email], context=ctx
        ).send()
        log.info("tenants.account_mail.sent", template=template_prefix, agency_id=agency.pk)


class _Site:
    def __init__(self, *, domain: str, name: str) -> None:
        self.domain = domain
        self.name = name

    def __str__(self) -> str:
        return self.name


class PortalMFAAdapter(DefaultMFAAdapter):  # type: ignore[misc]
    def get_totp_issuer(self) -> str:
        # Authenticator apps list the code under the agency's brand.
        agency = request_agency(self.request)
        return agency.branding.display_name if agency else super().get_totp_issuer()
