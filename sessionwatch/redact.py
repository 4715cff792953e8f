"""The one place credentials are taken out of text before it is printed, logged or recorded.

``redact_url`` shows a URL as ``scheme://host[:port]/path`` (no user information, query or
fragment) and never raises, whatever the URL. ``redact`` scrubs any text: user information in
URLs, secret-looking query parameters, ``Authorization`` values, and every value registered
with ``register_secret`` (the passwords, tokens and API keys the process has read). The logging
record factory of ``install_log_redaction`` applies ``redact`` to every log record.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"
_SECRETS: set[str] = set()
_MIN_SECRET = 4  # shorter values would mask ordinary words

# scheme://user:password@  or  scheme://token@  (user information before the host)
# (control characters such as a carriage return may sit in a malformed one: only a space, a line
# break or a quote ends it)
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/?#@ \n'\"]*)@")
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&;](?:[A-Za-z0-9_.-]*(?:token|key|secret|password|passwd|pwd|sig|signature|auth|"
    r"code|credential)[A-Za-z0-9_.-]*)=)(?P<value>[^&#\s'\"]*)",
    re.IGNORECASE,
)
_AUTH_SCHEME = re.compile(r"(?P<key>\b(?:Bearer|Basic|ApiKey|SSWS)\s+)(?P<value>[A-Za-z0-9._~+/=-]{8,})")
_AUTH_FIELD = re.compile(
    r"(?P<key>\b(?:Authorization|X-Api-Key|Api-Key|api_key|password)[\"']?\s*[:=]\s*[\"']?)"
    r"(?P<value>[^\"'\s,}]+)",
    re.IGNORECASE,
)


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears in text passed to ``redact`` from now on."""
    if value and len(value) >= _MIN_SECRET:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """``text`` with credentials replaced by ``***``."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m['key']}{MASK}", text)
    text = _AUTH_FIELD.sub(lambda m: f"{m['key']}{MASK}", text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m['key']}{MASK}", text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_url(url: str) -> str:
    """``url`` as ``scheme://host[:port]/path``: no user information, query or fragment. A URL
    too broken to parse is shown as its scheme and redacted host part, never in full."""
    if "://" not in url:  # "user:password@host:9200" reads as scheme "user"; show the host only
        return redact(url.strip().rsplit("@", 1)[-1].split("/", 1)[0])
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        scheme, _, rest = url.strip().partition("://")
        host_part = rest.rsplit("@", 1)[-1].split("/", 1)[0].split("?", 1)[0]
        return redact(f"{scheme}://{host_part}" if rest else "<unparsable URL>")
    if ":" in host:
        host = f"[{host}]"
    if port:
        host = f"{host}:{port}"
    return redact(urlunsplit((parts.scheme, host, parts.path, "", "")))


def url_secret(url: str) -> str | None:
    """The password (or token) in ``url``'s user information, read without parsing the URL."""
    rest = url.partition("://")[2] if "://" in url else url
    info = rest.split("/", 1)[0].rpartition("@")[0]
    if not info:
        return None
    user, colon, password = info.partition(":")
    return password if colon else user


def has_password(url: str) -> bool:
    """Whether ``url`` carries user information (a password or token) before its host."""
    return _USERINFO.search(url) is not None


_warned: set[str] = set()
COMMAND_LINE_WARNING = (
    "warning: a password in --es-url is visible to every user of this machine (ps); set "
    "SESSIONWATCH_ES_USERNAME with SESSIONWATCH_ES_PASSWORD or SESSIONWATCH_ES_PASSWORD_FILE "
    "(or SESSIONWATCH_ES_API_KEY[_FILE]) instead: see docs/deploy.md, Connecting"
)


def command_line_url(url: str | None) -> None:
    """For a URL given on the command line: register its password or token for redaction and
    warn once on stderr that ``ps`` shows it, naming the environment and file alternatives."""
    secret = url_secret(url or "")
    if not secret:
        return
    register_secret(secret)
    register_secret(unquote(secret))
    if url not in _warned:
        _warned.add(str(url))
        print(COMMAND_LINE_WARNING, file=sys.stderr)


_installed = False


def install_log_redaction() -> None:
    """Redact every log record from now on, whatever handler writes it: the message when the
    record is made, and the traceback text of ``log.exception``."""
    global _installed
    if _installed:
        return
    _installed = True
    make = logging.getLogRecordFactory()

    def redacting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(redacting)
