"""The one loopback check behind VIDMOCK_OFFLINE (proxy, probe) and the control plane's warning."""

from __future__ import annotations

import pytest

from mockserver.traffic.reach import is_loopback_host, is_loopback_url, offline


@pytest.mark.parametrize("url, loopback", [
    ("http://127.0.0.1:8765/v1", True), ("ws://127.0.0.2/v1", True), ("http://[::1]:80/", True),
    ("https://localhost/v1", True), ("https://api.runware.ai/v1", False), ("http://10.0.0.1/", False),
    ("http://localhost.example.com/", False), ("not a url", False),
])
def test_a_url_is_loopback_only_by_its_host(url, loopback):
    assert is_loopback_url(url) is loopback


def test_a_bound_host_may_be_written_in_brackets_and_a_name_is_never_trusted():
    assert is_loopback_host("[::1]") and is_loopback_host("::1") and is_loopback_host("localhost")
    assert not is_loopback_host("0.0.0.0") and not is_loopback_host("my-laptop")


@pytest.mark.parametrize("value, on", [(None, False), ("", False), ("0", False), ("1", True), ("yes", True)])
def test_offline_is_any_value_but_empty_and_zero(value, on):
    assert offline({} if value is None else {"VIDMOCK_OFFLINE": value}) is on
