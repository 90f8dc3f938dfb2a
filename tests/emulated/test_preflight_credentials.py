"""Preflight's credential probes (plugins/module_utils/credentials.py) against the sandbox emulators.

One authenticated read per API: a refused credential is a finding naming its variable; a valid
one is not; an API that does not answer is not a finding either (the roles report it).
The emulators refuse as the real APIs do: DigitalOcean 401 ``unauthorized`` (API v2 spec,
``responses/unauthorized.yml``) and 403 ``forbidden`` to a custom-scoped token outside its scopes
(each operation's ``security``, e.g. ``resources/kubernetes/kubernetes_list_clusters.yml``:
``kubernetes:read``), Auth0 ``/oauth/token`` 401 ``access_denied``, Spaces (S3)
403 ``InvalidAccessKeyId`` / ``SignatureDoesNotMatch``.
"""

from __future__ import annotations

import datetime
from typing import Any
from unittest import mock

import pytest
from ansible_collections.doks.gitops.plugins.action.preflight import _refused
from ansible_collections.doks.gitops.plugins.module_utils import credentials as cr
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.emulated.doks_helpers import DoSandbox

pytestmark = pytest.mark.sandbox


@pytest.fixture
def ends(do_sandbox: DoSandbox) -> dict[str, Any]:
    return do_sandbox.endpoints


def test_valid_credentials_are_no_finding(ends: dict[str, Any]) -> None:
    ca = ends["ca_bundle"]
    assert cr.probe_digitalocean(ends["digitalocean"]["url"], ends["digitalocean"]["token"], ca) is None
    a0 = ends["auth0"]
    assert cr.probe_auth0(a0["domain"], a0["client_id"], a0["client_secret"], audience=None, ca_path=ca) is None
    spaces = ends["spaces"]
    found = cr.probe_spaces(spaces["url"], spaces["region"], "sandbox-admin", "sandbox-admin-not-a-secret", ca_path=ca)
    assert found is None


def test_a_refused_digitalocean_token_names_its_variable(ends: dict[str, Any]) -> None:
    found = cr.probe_digitalocean(ends["digitalocean"]["url"], "dop_v1_" + "0" * 64, ends["ca_bundle"])
    assert found is not None
    assert found.variable == "doks_cluster_api_token"
    assert "GET /v2/account" in found.detail and "401" in found.detail


def test_a_dns_scoped_token_is_no_finding(ends: dict[str, Any]) -> None:
    """The sandbox's dns_token has domain:read|create|update|delete only: GET /v2/domains answers,
    GET /v2/kubernetes/clusters is 403."""
    do = ends["digitalocean"]
    assert cr.probe_dns_token(do["url"], do["dns_token"], ends["ca_bundle"], "how") is None


def test_a_dns_token_wider_than_dns_names_its_variable_and_how_to_scope_it(ends: dict[str, Any]) -> None:
    do = ends["digitalocean"]
    found = cr.probe_dns_token(do["url"], do["token"], ends["ca_bundle"], "custom scopes domain:read")
    assert found is not None and found.variable == "ingress_certmanager_digitalocean_token"
    assert "GET /v2/kubernetes/clusters: HTTP 200" in found.detail
    problem = _refused(found, "{{ lookup('ansible.builtin.env', 'DIGITALOCEAN_DNS_TOKEN') }}")
    assert "custom scopes domain:read" in problem.fix and "DIGITALOCEAN_DNS_TOKEN" in problem.fix


def test_a_refused_dns_token_names_its_variable(ends: dict[str, Any]) -> None:
    found = cr.probe_dns_token(ends["digitalocean"]["url"], "dop_v1_" + "0" * 64, ends["ca_bundle"], "how")
    assert found is not None and found.variable == "ingress_certmanager_digitalocean_token"
    assert "GET /v2/domains: HTTP 401" in found.detail
    assert "environment variable DIGITALOCEAN_DNS_TOKEN" in _refused(found, "{{ vault_dns }}").fix


def test_a_refused_auth0_secret_names_its_variable(ends: dict[str, Any]) -> None:
    a0 = ends["auth0"]
    found = cr.probe_auth0(a0["domain"], a0["client_id"], "not-the-secret", audience=None, ca_path=ends["ca_bundle"])
    assert found is not None
    assert found.variable == "auth0_apps_client_secret"
    assert "access_denied" in found.detail


@pytest.mark.parametrize(
    ("key", "secret", "variable", "code"),
    [
        ("NOSUCHKEY0000000000", "whatever", "doks_cluster_spaces_access_key_id", "InvalidAccessKeyId"),
        ("sandbox-admin", "not-the-secret", "doks_cluster_spaces_secret_access_key", "SignatureDoesNotMatch"),
    ],
)
def test_a_refused_spaces_key_names_the_right_half(
    ends: dict[str, Any], key: str, secret: str, variable: str, code: str
) -> None:
    spaces = ends["spaces"]
    found = cr.probe_spaces(spaces["url"], spaces["region"], key, secret, ca_path=ends["ca_bundle"])
    assert found is not None
    assert (found.variable, code in found.detail) == (variable, True)


def test_an_api_that_does_not_answer_is_no_finding() -> None:
    assert cr.probe_digitalocean("https://127.0.0.1:9", "dop_v1_x", None, timeout=2) is None


def test_the_fix_names_the_environment_variable_the_inventory_reads() -> None:
    refusal = cr.Refusal("doks_cluster_api_token", "DigitalOcean refused the token")
    problem = _refused(refusal, "{{ lookup('ansible.builtin.env', 'DO_TOKEN_PROD') }}")
    assert problem.variable == "doks_cluster_api_token"
    assert "environment variable DO_TOKEN_PROD" in problem.fix
    assert "environment variable DIGITALOCEAN_TOKEN" in _refused(refusal, "{{ vault_do_token }}").fix


def test_sigv4_signature_is_botocores() -> None:
    """The probe signs ListBuckets exactly as botocore (the AWS SDK amazon.aws uses) does."""
    now = datetime.datetime(2013, 5, 24, 12, 30, tzinfo=datetime.UTC)
    url = "https://fra1.digitaloceanspaces.com/"
    ours = cr.sigv4_headers(url, "fra1", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", now)
    request = AWSRequest(method="GET", url=url, headers={"x-amz-content-sha256": cr.EMPTY_SHA256})
    creds = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    signer = S3SigV4Auth(creds, "s3", "fra1")
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        signer.add_auth(request)
    assert ours["Authorization"] == request.headers["Authorization"]
