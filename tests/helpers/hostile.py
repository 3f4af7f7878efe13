"""Hypothesis strategies of hostile text: what a client sends to break a parser.

Drawn often, not left to chance: lone surrogates, NUL and control characters, line ends, a
byte-order mark, bidi overrides, a non-character, and the brackets, quotes and escapes of
URLs and JSON; and URLs assembled from the pieces that break ``urlsplit``, ``ipaddress`` and
DNS names.
"""

from __future__ import annotations

from hypothesis import strategies as st

NASTY = [
    "\ud800", "\udfff", "\x00", "\x7f", "\x80", "\r", "\n", "\t", "\ufeff", "\u202e",
    "\uffff", "\U0010ffff", "[", "]", "%", "\\", '"', "'", "{", "}", "é", "界",
]  # fmt: skip
#: Text that any parser might choke on (any code point is drawn too, but the nasty ones often).
any_text = st.text(
    st.sampled_from(NASTY) | st.characters(blacklist_categories=()), max_size=80
) | st.sampled_from(NASTY)
#: The pieces of a URL that break ``urlsplit``, ``ipaddress`` and DNS names.
URL_PIECES = [
    "[", "]", "[::1", "::1]", "[notipv6]", "[v1.x]", "[fe80::1%25eth0]", "%", "%zz", "%00",
    "@", ":", ":99999", ":-1", ":0", ":080", "..", ".", "-a", "a-", "xn--", "_", "a" * 64, "é",
    "\u2100", "\u3002", "\x00", " ", "\t", "#", "?", "/", "\\", "0x7f.1", "127.1",
    "2130706433", "0177.0.0.1", "1.2.3.4.5", "999.1.1.1", "example.com", "localhost",
]  # fmt: skip
#: URLs put together from a scheme, hostile pieces and a path.
urlish = st.builds(
    lambda scheme, pieces, path: f"{scheme}{''.join(pieces)}{path}",
    st.sampled_from(["https://", "http://", "https:", "https:///", "//", "ftp://", ""]),
    st.lists(st.sampled_from(URL_PIECES), min_size=1, max_size=6),
    st.sampled_from(["", "/", "/hook", "/a?b=c#d", "/%"]),
)
