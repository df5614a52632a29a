"""The install step's egress proxy: registries over HTTPS, and never loopback or metadata."""

from __future__ import annotations

import socket

import pytest

from agent.guard.egress import (
    EgressProxy,
    EgressRefused,
    address_public,
    check_target,
    host_allowed,
    parse_connect,
)

REGISTRIES = ("registry.npmjs.org", "pypi.org")


def resolver(table):
    return lambda host, _port: table.get(host, [])


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "::1", "10.0.0.8", "172.16.3.4", "192.168.1.1", "169.254.169.254",
     "169.254.170.2", "fd00:ec2::254", "::ffff:127.0.0.1", "0.0.0.0", "100.64.0.1", "224.0.0.1"],
)  # fmt: skip
def test_special_addresses_are_never_public(address):
    assert not address_public(address)


def test_public_addresses_are():
    assert address_public("104.16.1.35") and address_public("2606:4700::6810:123")


def test_only_listed_hosts_and_their_subdomains():
    assert host_allowed("registry.npmjs.org", REGISTRIES)
    assert host_allowed("files.pypi.org", REGISTRIES)
    assert not host_allowed("registry.npmjs.org.evil.example", REGISTRIES)
    assert not host_allowed("evilpypi.org", REGISTRIES)


def test_targets_are_checked_by_name_port_and_every_resolved_address():
    public = resolver({"registry.npmjs.org": ["104.16.1.35"]})
    assert check_target("registry.npmjs.org", 443, REGISTRIES, public) == "104.16.1.35"
    for host, port, table in [
        ("registry.npmjs.org", 80, public),
        ("127.0.0.1", 443, public),
        ("evil.example", 443, resolver({"evil.example": ["104.16.1.35"]})),
        ("registry.npmjs.org", 443, resolver({"registry.npmjs.org": ["104.16.1.35", "127.0.0.1"]})),
        ("registry.npmjs.org", 443, resolver({"registry.npmjs.org": ["169.254.169.254"]})),
        ("registry.npmjs.org", 443, resolver({})),
    ]:
        with pytest.raises(EgressRefused):
            check_target(host, port, REGISTRIES, table)


def test_only_connect_is_spoken():
    assert parse_connect(b"CONNECT pypi.org:443 HTTP/1.1\r\nHost: x\r\n\r\n") == ("pypi.org", 443)
    for head in (b"GET http://pypi.org/ HTTP/1.1\r\n\r\n", b"CONNECT [::1]:443 HTTP/1.1\r\n\r\n"):
        with pytest.raises(EgressRefused):
            parse_connect(head)


def test_the_proxy_refuses_a_tunnel_to_a_loopback_service(tmp_path):
    """A name that resolves to loopback is refused before any connection is made."""
    trap = socket.socket()
    trap.bind(("127.0.0.1", 0))
    trap.listen()
    trap.settimeout(0.5)
    port = trap.getsockname()[1]
    table = resolver({"registry.npmjs.org": ["127.0.0.1"]})
    proxy = EgressProxy(tmp_path / "egress.sock", REGISTRIES, table).start()
    try:
        for target in (f"registry.npmjs.org:{port}", "registry.npmjs.org:443", f"127.0.0.1:{port}"):
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(str(tmp_path / "egress.sock"))
                client.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                answer = client.recv(4096)
            assert answer.startswith(b"HTTP/1.1 403"), answer
        with pytest.raises(TimeoutError):
            trap.accept()  # nothing ever reached the loopback service
        assert len(proxy.refusals) == 3
    finally:
        proxy.stop()
        trap.close()
