"""The form key a browser posts, made as a browser makes it (stdlib only: the locustfile imports it too).

Magento never sends a form_key cookie, and a page from the full-page cache (the login and product pages are
cacheable) carries a form key that is not this visitor's. In the browser, Magento_PageCache's form-key-provider.js
makes a `form_key` cookie (16 alphanumerics) once, page-cache.js writes it into every form, and the server's
RegisterFormKeyFromCookie plugin takes it as the session's form key. A client that does the same posts forms stock
Magento accepts, with or without a cache in front; one that scrapes the key from the page does not.
"""
from __future__ import annotations

import secrets
import string
from http.cookiejar import Cookie, CookieJar
from urllib.parse import urlsplit

COOKIE = "form_key"
_ALPHABET = string.ascii_letters + string.digits


def new_form_key() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(16))


def browser_form_key(jar: CookieJar, url: str) -> str:
    """The jar's form_key cookie for the store at `url`, made first if the browser has none."""
    host = urlsplit(url).hostname or ""
    for c in jar:
        if c.name == COOKIE and c.domain.lstrip(".") == host:
            return c.value or ""
    key = new_form_key()
    jar.set_cookie(Cookie(0, COOKIE, key, None, False, host, False, False, "/", True, False, None, False,
                          None, None, {}))
    return key
