"""HTTP at the byte level, for tests of servers' framing: send bytes, read every answer back."""

from __future__ import annotations

import socket

#: Longer than any answer takes, on a busy machine too: a guard against a hang, not a speed.
GUARD_SECONDS = 60.0

Answer = tuple[int, dict[str, str], bytes]


def exchange(port: int, data: bytes, *, half_close: bool = True) -> bytes:
    """Send ``data`` on a new connection, then read until the server closes it.

    ``half_close`` ends our side once sent, so that a server waiting for more sees the end
    rather than an idle client. A reset from the server ends the reading like a close.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=GUARD_SECONDS) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused and closed before we were done: read what it said
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return received


def answers(raw: bytes) -> list[Answer]:
    """Every HTTP answer in ``raw``, in order: status, headers (lower-case names), body.

    A malformed answer fails the caller's assertion through its ``ValueError``.
    """
    found = []
    while raw:
        head, separator, rest = raw.partition(b"\r\n\r\n")
        if not separator:
            raise ValueError(f"an answer without the end of its headers: {raw[:200]!r}")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        version, status, *_ = status_line.split(" ", 2)
        if version not in ("HTTP/1.0", "HTTP/1.1") or not (status.isdigit() and len(status) == 3):
            raise ValueError(f"not a status line: {status_line!r}")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = int(headers.get("content-length", "0"))
        if len(rest) < length:
            raise ValueError("an answer shorter than its Content-Length")
        found.append((int(status), headers, rest[:length]))
        raw = rest[length:]
    return found
