"""Property-based checks of the two inputs most likely to be mistyped: CIDRs and names."""

from __future__ import annotations

import copy
import ipaddress
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from secure_pipelines import InvalidDeclaration, build_plan, parse_declaration
from secure_pipelines.declaration.model import Cidr, SafeName, ShortName

CIDR = TypeAdapter(Cidr)
SAFE_NAME = TypeAdapter(SafeName)
SHORT_NAME = TypeAdapter(ShortName)
FIXTURE_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60, deadline=None)

networks = st.one_of(
    st.builds(lambda a, p: ipaddress.IPv4Network((a, p), strict=False), st.integers(0, 2**32 - 1), st.integers(0, 32)),
    st.builds(lambda a, p: ipaddress.IPv6Network((a, p), strict=False), st.integers(0, 2**128 - 1),
              st.integers(0, 128)),
)


@given(networks)
def test_every_network_is_accepted_in_its_canonical_form(network: ipaddress.IPv4Network) -> None:
    assert CIDR.validate_python(str(network)) == str(network)


@given(networks, st.integers(min_value=1))
def test_an_address_with_host_bits_is_refused_with_the_network_to_write(
    network: ipaddress.IPv4Network, offset: int
) -> None:
    if network.num_addresses == 1:
        return
    host = network.network_address + (offset % (network.num_addresses - 1) + 1)
    written = f"{host}/{network.prefixlen}"
    with pytest.raises(ValidationError) as refused:
        CIDR.validate_python(written)
    assert "host bits set" in str(refused.value)
    assert str(network) in str(refused.value)


@given(st.text(max_size=40))
def test_arbitrary_text_is_either_a_network_or_refused_with_an_example(text: str) -> None:
    try:
        accepted = CIDR.validate_python(text)
    except ValidationError as refused:
        assert "CIDR" in str(refused) or "host bits" in str(refused)
    else:
        assert ipaddress.ip_network(accepted, strict=True)


UNSAFE = re.compile(r"[^a-z0-9._-]|\.\.|^[._-]|[._-]$")


@given(st.text(alphabet=st.characters(codec="ascii"), min_size=1, max_size=70))
def test_a_name_is_accepted_only_when_it_is_safe_in_vault_paths(name: str) -> None:
    try:
        SAFE_NAME.validate_python(name)
    except ValidationError:
        assert UNSAFE.search(name) or len(name) > 64
    else:
        assert not UNSAFE.search(name)
        assert "/" not in name and "*" not in name and "," not in name


@given(st.from_regex(r"[a-z][a-z0-9-]{0,30}[a-z0-9]", fullmatch=True))
def test_every_short_name_of_the_documented_form_is_accepted(name: str) -> None:
    assert SHORT_NAME.validate_python(name) == name


@FIXTURE_OK
@given(st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True))
def test_any_safe_repository_name_plans_to_paths_under_its_own_prefix(example: dict[str, Any], name: str) -> None:
    if name == "api":
        return
    example = copy.deepcopy(example)  # hypothesis reuses the fixture across examples
    example["repositories"][0]["name"] = name
    for env in example["environments"]:
        env["repositories"] = [name if r == "webapp" else r for r in env["repositories"]]
        for shared in env.get("shared_secrets", []):
            shared["repositories"] = [name if r == "webapp" else r for r in shared["repositories"]]
    try:
        plan = build_plan(parse_declaration(example))
    except InvalidDeclaration as error:
        # Only a collision with the other repository's names may refuse a safe name.
        assert all("same Vault name" in p.message for p in error.problems)
        return
    for env in plan.environments:
        for path in env.secret_store.paths:
            if path.shared:
                assert path.path == f"shared/{path.shared}" and path.repository is None
                continue
            assert path.path.split("/")[-1] == path.repository
            assert path.path.startswith(f"apps/{path.developer}/" if path.developer else "apps/")
