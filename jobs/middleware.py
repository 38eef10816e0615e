"""Which browser is asking: the key under which its remembered jobs are kept."""

import re
import secrets

from django.http import HttpRequest, HttpResponse

COOKIE = "portal_browser"
MAX_AGE = 5 * 365 * 24 * 3600  # remembered jobs outlive a closed browser
_KEY = re.compile(r"[A-Za-z0-9_-]{32,64}")


class BrowserMiddleware:
    """Give each browser a random key in a long-lived cookie (no account needed)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.COOKIES.get(COOKIE, "")
        is_new = not _KEY.fullmatch(key)
        request.browser_key = secrets.token_urlsafe(32) if is_new else key
        response = self.get_response(request)
        if is_new or request.COOKIES.get(COOKIE) != request.browser_key:
            response.set_cookie(
                COOKIE,
                request.browser_key,
                max_age=MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure(),
            )
        return response


# Only what the portal serves itself (and the user's SAMP hub): no inline script or style, no frames, no
# plugins, forms that post back here only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        # The SAMP Web Profile hub on the user's own machine (SAMP 1.3 §5.2), for "Send with SAMP".
        "connect-src 'self' http://localhost:21012",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class SecurityHeadersMiddleware:
    """The headers Django 5.2 does not set by itself: CSP and a permissions policy."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        return response
