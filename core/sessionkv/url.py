"""Store URLs: parsed into parts, with the password kept out of every repr, log and error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote

from .errors import InvalidURLError

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://(.*)$", re.DOTALL)
_REDACTED = "***"


_SCHEME_CHARS_REVERSED = re.compile(r"[A-Za-z0-9+.\-]*")
_LETTER = re.compile(r"[A-Za-z]")
_USER = re.compile(r"[^/?#@\s:]*")
_SPACE = re.compile(r"\s")


#: A query option whose name ends in ``password`` (``sentinel_password``) holds a secret: hidden like the URL's own.
_QUERY_SECRET = re.compile(r"(password=)[^&#'\"\s)]*", re.IGNORECASE)


def secret_option(name: str) -> bool:
    """True for a query option that holds a secret (its name ends in ``password``): never shown."""
    return name.lower().endswith("password")


def redact(text: str) -> str:
    """Hide every password in ``text``: that of each ``scheme://user:password@``, and the value of each
    ``...password=`` query option (``secret_option``). Linear in ``len(text)`` (see ``_redact_userinfo``)."""
    return _QUERY_SECRET.sub(rf"\1{_REDACTED}", _redact_userinfo(text))


def _redact_userinfo(text: str) -> str:
    """Hide the password of every ``scheme://user:password@`` in ``text``.

    The password runs to the last ``@`` before white space: one with an unencoded ``/``, ``?`` or ``#`` (which a
    URL parser reads as the start of the path, query or fragment) is hidden whole too.

    Linear in ``len(text)``: it runs on store errors and failure messages of any size (a regex scanning for a
    scheme at every position, then backtracking, was quadratic in the length of a word). The work is anchored on
    each ``://``; the scheme is read backwards from it, and the last ``@`` of each word is found once.
    """
    if "://" not in text:
        return text
    reversed_text = text[::-1]
    size = len(text)
    out: list[str] = []
    pos = 0  # text before pos is already in out
    word_end, word_last_at = -1, -1  # the white-space-free run holding the current password, and its last '@'
    colon = text.find("://", pos)
    while colon != -1:
        scheme_chars = _SCHEME_CHARS_REVERSED.match(reversed_text, size - colon, size - pos)
        run_start = colon - (scheme_chars.end() - scheme_chars.start()) if scheme_chars else colon
        letter = _LETTER.search(text, run_start, colon)
        user = _USER.match(text, colon + 3)
        at = -1
        if letter is not None and user is not None and user.end() < size and text[user.end()] == ":":
            password = user.end() + 1
            if password >= word_end:
                space = _SPACE.search(text, password)
                word_end = size if space is None else space.start()
                word_last_at = text.rfind("@", password, word_end)
            at = word_last_at if word_last_at >= password else -1
        if at == -1:
            colon = text.find("://", colon + 1)
            continue
        assert letter is not None and user is not None
        out.append(text[pos : user.end() + 1])
        out.append(f"{_REDACTED}@")
        pos = at + 1
        colon = text.find("://", pos)
    out.append(text[pos:])
    return "".join(out)


def _shown(url: str) -> str:
    """``url`` for an error message: everything between ``user:`` and the URL's last ``@`` hidden, spaces too."""
    m = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*://[^/?#@\s:]*:).*@", url, re.DOTALL)
    return redact(url) if m is None else f"{m.group(1)}{_REDACTED}@{url[m.end() :]}"


@dataclass(frozen=True)
class Host:
    """One ``host[:port]`` of a URL; IPv6 hosts are kept without brackets."""

    host: str
    port: int | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


@dataclass(frozen=True)
class StoreURL:
    """A parsed store URL: ``scheme://[user[:password]@]host[:port][,host[:port]...][/path][?opt=value]``.

    The password is held but never shown: ``repr``/``str`` print ``***`` in its place.
    """

    scheme: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    hosts: tuple[Host, ...] = ()
    path: str = ""
    query: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str) -> StoreURL:
        """Parse ``url``; raise ``InvalidURLError`` (password redacted) when it is malformed."""
        if not isinstance(url, str):
            raise TypeError(f"a store URL must be str, not {type(url).__name__}")
        m = _SCHEME_RE.match(url.strip())
        if not m:
            raise InvalidURLError(
                f"not a store URL: {_shown(url)!r}; expected scheme://..., e.g. memory:// or redis://localhost:6379/0"
            )
        scheme, rest = m.group(1).lower(), m.group(2)
        if "#" in rest:
            raise InvalidURLError(f"store URLs take no #fragment: {_shown(url)!r}")
        rest, _, qs = rest.partition("?")
        netloc, slash, path = rest.partition("/")
        if ("@" in path or "@" in qs) and (":" in netloc or "@" in netloc):
            # a password with an unencoded '/' or '?' runs into the path or query: refuse rather than guess
            raise InvalidURLError(
                f"'@' after the host in {_shown(url)!r}: percent-encode '/', '?', '#' and '@' in a user name or "
                "password, and '@' in a path or option value (%2F, %3F, %23, %40)"
            )
        username = password = None
        if "@" in netloc:
            userinfo, _, netloc = netloc.rpartition("@")
            user, colon, pw = userinfo.partition(":")
            username = _unquote(user, url) or None
            password = _unquote(pw, url) if colon else None
        hosts = tuple(_parse_host(h, url) for h in netloc.split(",")) if netloc else ()
        query: dict[str, str] = {}
        pairs = _query_pairs(qs)
        if pairs is None:  # raised outside the except block: the parser's error (URL text) is not even __context__
            raise InvalidURLError(f"malformed query string in {_shown(url)!r}")
        for key, value in pairs:
            if key in query:
                raise InvalidURLError(f"option {key!r} is given twice in {_shown(url)!r}")
            query[key] = value
        return cls(scheme, username, password, hosts, _unquote(slash + path, url), query)

    @property
    def host(self) -> Host | None:
        """The first host, or ``None`` when the URL names none."""
        return self.hosts[0] if self.hosts else None

    def __str__(self) -> str:
        return self.render(show_password=False)

    def __repr__(self) -> str:
        return f"StoreURL({self.render(show_password=False)!r})"

    def render(self, *, show_password: bool = False) -> str:
        """The URL as text; the password (and any ``secret_option``) appears only when ``show_password`` is true."""
        auth = ""
        if self.username is not None or self.password is not None:
            auth = quote(self.username or "", safe="")
            if self.password is not None:
                auth += ":" + (quote(self.password, safe="") if show_password else _REDACTED)
            auth += "@"
        hosts = ",".join(str(h) for h in self.hosts)
        qs = "&".join(
            f"{quote(k, safe='')}={_REDACTED if secret_option(k) and not show_password else quote(v, safe=':')}"
            for k, v in self.query.items()
        )
        return f"{self.scheme}://{auth}{hosts}{quote(self.path, safe='/')}{'?' + qs if qs else ''}"


def _query_pairs(qs: str) -> list[tuple[str, str]] | None:
    """The query's ``(name, value)`` pairs, or ``None`` when it is malformed."""
    try:
        return parse_qsl(qs, keep_blank_values=True, strict_parsing=bool(qs), errors="strict")
    except (ValueError, UnicodeDecodeError):
        return None


def _unquote(text: str, url: str) -> str:
    """Percent-decode one URL part; the decoder's error (which quotes the text) is dropped, not chained."""
    try:
        decoded: str | None = unquote(text, errors="strict")
    except UnicodeDecodeError:
        decoded = None
    if decoded is None:
        raise InvalidURLError(f"bad percent-encoding in {_shown(url)!r}")
    return decoded


def _parse_host(text: str, url: str) -> Host:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise InvalidURLError(f"unclosed IPv6 bracket in {_shown(url)!r}")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise InvalidURLError(f"unexpected text after IPv6 host in {_shown(url)!r}")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text_ = text.partition(":")
        port_text = port_text_ if colon else None
    if not host:
        raise InvalidURLError(f"empty host in {_shown(url)!r}")
    port = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise InvalidURLError(f"port must be a number from 1 to 65535 in {_shown(url)!r}")
        port = int(port_text)
    return Host(_unquote(host, url), port)
