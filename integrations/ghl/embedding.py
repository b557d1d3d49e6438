"""Let the CRM frame our pages, but only the SSO page and sessions that embedded SSO made.

Inside the CRM our pages are a cross-site iframe. Browsers send a ``SameSite=Lax`` cookie to a
cross-site iframe never, so a session made there would be lost on the next click; and Django
refuses framing altogether (``X-Frame-Options: DENY``). For the SSO page and for sessions flagged
by the SSO sign-in only, this middleware

* marks the session and CSRF cookies ``SameSite=None; Secure; Partitioned`` each time they
  are set (see ``PartitionedMorsel``);
* replaces ``X-Frame-Options`` with the Content-Security-Policy's ``frame-ancestors`` listing the
  CRM's origins (settings.GHL_SSO_FRAME_ANCESTORS), so no other site can frame an embedded session
  to click-jack it; the rest of the site-wide policy (django-csp) stays as it is.

Every other session keeps ``Lax`` cookies and ``DENY``. It sits outside the session, CSRF and
clickjacking middleware so it sees the cookies and headers they set.
"""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import Morsel

from django.conf import settings
from django.http import HttpRequest, HttpResponse

SESSION_EMBEDDED_KEY = "integrations.ghl.sso_embedded"
# A view sets this on a response that must be frameable before any session exists.
EMBEDDABLE_ATTR = "ghl_embeddable"

Handler = Callable[[HttpRequest], HttpResponse]


def is_embedded(request: HttpRequest) -> bool:
    session = getattr(request, "session", None)
    return bool(session is not None and session.get(SESSION_EMBEDDED_KEY))


def frame_ancestors() -> str:
    return " ".join(["'self'", *settings.GHL_SSO_FRAME_ANCESTORS])


class PartitionedMorsel(Morsel[str]):
    """A cookie with the ``Partitioned`` attribute (CHIPS), which Python's ``http.cookies``
    only learns in 3.14. Browsers that block third-party cookies (incognito windows, Safari,
    Firefox's total cookie protection) still keep a partitioned cookie, in a jar of its own for
    the top-level site: the CRM. The cookie is then also unknown to a top-level visit of our
    domain, which is what we want from a session made inside the CRM."""

    @classmethod
    def embedded_copy_of(cls, morsel: Morsel[str]) -> PartitionedMorsel:
        copy = cls()
        copy.set(morsel.key, morsel.value, morsel.coded_value)
        for attribute, value in morsel.items():
            copy[attribute] = value
        copy["samesite"] = "None"
        copy["secure"] = True  # browsers drop SameSite=None without Secure
        return copy

    def OutputString(self, attrs: list[str] | None = None) -> str:
        return f"{super().OutputString(attrs)}; Partitioned"


class EmbeddedSessionMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(response, EMBEDDABLE_ATTR, False) or is_embedded(request):
            self._allow_framing(response)
        return response

    @staticmethod
    def _allow_framing(response: HttpResponse) -> None:
        for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
            morsel = response.cookies.get(name)
            if morsel is not None:
                response.cookies[name] = PartitionedMorsel.embedded_copy_of(morsel)
        if "X-Frame-Options" in response:
            del response["X-Frame-Options"]
        # django-csp (the middleware outside this one) writes the header: only the frame-ancestors
        # directive of the site-wide policy is replaced, every other directive stays.
        replace = dict(getattr(response, "_csp_replace", None) or {})
        replace["frame-ancestors"] = frame_ancestors().split()
        response._csp_replace = replace  # type: ignore[attr-defined]
