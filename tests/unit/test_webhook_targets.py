"""Where a webhook may point: the URL's rules and the addresses its host may resolve to.

The resolver is the test's own (a table of DNS answers), so that a name answering 127.0.0.1
or the metadata address is tried without a DNS server; literal addresses go through the
system's resolver, which reads them without a lookup (decimal and short forms included).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from vegart.webhooks.targets import (
    MAX_URL_CHARS,
    RefusedTarget,
    TargetPolicy,
    is_public,
    system_resolver,
)

#: The DNS of this test: names and what they resolve to.
DNS: dict[str, list[str]] = {
    "hooks.example.com": ["93.184.216.34"],
    "v6.example.com": ["2606:2800:220:1:248:1893:25c8:1946"],
    "localhost.example.com": ["127.0.0.1"],
    "metadata.example.com": ["169.254.169.254"],
    "private.example.com": ["10.1.2.3"],
    "mixed.example.com": ["93.184.216.34", "192.168.1.10"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
    "unique-local.example.com": ["fd12:3456:789a::1"],
    "nowhere.example.com": [],
}


def resolve(host: str, port: int) -> Sequence[str]:
    if host in DNS:
        return DNS[host]
    return system_resolver(host, port)


POLICY = TargetPolicy(resolve)

REFUSED_ADDRESSES = [
    "127.0.0.1",
    "127.255.0.9",
    "0.0.0.0",
    "10.0.0.1",
    "172.16.5.4",
    "172.31.255.255",
    "192.168.0.1",
    "100.64.0.1",  # shared address space (carrier NAT)
    "169.254.169.254",  # the cloud metadata service
    "169.254.0.1",
    "192.0.0.1",
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::1",
    "::",
    "fc00::1",
    "fd00:ec2::254",  # the metadata service over IPv6
    "fe80::1",
    "fec0::1",  # site-local, retired
    "ff02::1",  # multicast
    "::ffff:127.0.0.1",  # v4-mapped loopback
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001:db8::1",  # documentation
]
PUBLIC_ADDRESSES = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "2606:2800:220:1:248:1893:25c8:1946",
    "2a00:1450:4001:82b::200e",
    "::ffff:93.184.216.34",  # v4-mapped, judged by the address it carries
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_non_public_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_are_public(address: str) -> None:
    assert is_public(address)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "public address"),
        ("https://[::1]/hook", "public address"),
        ("https://169.254.169.254/latest/meta-data/", "public address"),
        ("https://2130706433/hook", "public address"),  # 127.0.0.1, written as one number
        ("https://0x7f.1/hook", "public address"),  # 127.0.0.1, the short hex form
        ("https://[::ffff:7f00:1]/hook", "public address"),
        ("https://localhost.example.com/hook", "public address"),  # DNS says 127.0.0.1
        ("https://metadata.example.com/hook", "public address"),  # DNS says 169.254.169.254
        ("https://private.example.com/hook", "public address"),
        ("https://mixed.example.com/hook", "public address"),  # one private answer is enough
        ("https://mapped.example.com/hook", "public address"),
        ("https://unique-local.example.com/hook", "public address"),
        ("https://nowhere.example.com/hook", "does not resolve"),
        ("http://hooks.example.com/hook", "https"),
        ("ftp://hooks.example.com/hook", "https"),
        ("//hooks.example.com/hook", "https"),
        ("/relative/hook", "https"),
        ("hooks.example.com/hook", "https"),
        ("https:///hook", "https"),
        ("https://user:pass@hooks.example.com/hook", "credentials"),
        ("https://hooks.example.com:0/hook", "port"),
        ("https://hooks.example.com:99999/hook", "port"),
        ("https://hooks.example.com/a b", "printable ASCII"),
        ("https://hooks.example.com/\u00e9", "printable ASCII"),
        ("https://hooks.example.com/\r\nX-Injected: 1", "printable ASCII"),
        ("https://hooks.example.com/" + "a" * MAX_URL_CHARS, "at most 2048"),
        (42, "string"),
        (["https://hooks.example.com"], "string"),
    ],
)
def test_refused_targets_name_the_field_and_say_why(url: object, reason: str) -> None:
    with pytest.raises(RefusedTarget) as refused:
        POLICY.check(url)
    assert refused.value.status == 400
    assert refused.value.message.startswith("webhook ")
    assert reason in refused.value.message


@pytest.mark.parametrize(
    ("url", "address", "port", "target"),
    [
        ("https://hooks.example.com/hook", "93.184.216.34", 443, "/hook"),
        ("https://hooks.example.com", "93.184.216.34", 443, "/"),
        ("https://hooks.example.com:8443/a/b?c=d&e=f", "93.184.216.34", 8443, "/a/b?c=d&e=f"),
        ("https://HOOKS.example.com./hook", "93.184.216.34", 443, "/hook"),
        ("https://v6.example.com/hook", "2606:2800:220:1:248:1893:25c8:1946", 443, "/hook"),
        ("https://93.184.216.34/hook", "93.184.216.34", 443, "/hook"),
    ],
)
def test_public_https_targets_are_accepted(url: str, address: str, port: int, target: str) -> None:
    parsed = POLICY.check(url)
    destination = POLICY.destination(parsed)
    assert destination.address == address
    assert (parsed.port, parsed.target, parsed.url) == (port, target, url)


def test_a_url_of_the_longest_length_is_accepted() -> None:
    url = "https://hooks.example.com/" + "a" * (MAX_URL_CHARS - len("https://hooks.example.com/"))
    assert POLICY.check(url).url == url


def test_loopback_is_accepted_only_where_allowed_and_then_over_http_too() -> None:
    local = TargetPolicy(resolve, allow_loopback=True)
    for url in ("http://127.0.0.1:8080/hook", "https://localhost.example.com/hook"):
        assert local.destination(local.check(url)).address == "127.0.0.1"
        with pytest.raises(RefusedTarget):
            POLICY.check(url)
    # Loopback is the only exception: the rest stays refused, http to the internet too.
    for url in (
        "https://metadata.example.com/",
        "https://private.example.com/",
        "http://hooks.example.com/",
    ):
        with pytest.raises(RefusedTarget):
            local.check(url)


def test_the_host_is_resolved_once_per_check_and_the_checked_address_is_the_one_used() -> None:
    # A rebinding DNS: public on the first answer, loopback on every later one.
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])
    asked: list[str] = []

    def rebinding(host: str, port: int) -> Sequence[str]:
        asked.append(host)
        return next(answers)

    policy = TargetPolicy(rebinding)
    destination = policy.destination(policy.parse("https://rebind.example.com/hook"))
    assert destination.address == "93.184.216.34"
    assert asked == ["rebind.example.com"]
    with pytest.raises(RefusedTarget):  # the next check sees the new answer, and refuses it
        policy.destination(policy.parse("https://rebind.example.com/hook"))
