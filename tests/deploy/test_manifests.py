"""deploy/k8s/: every overlay renders with `kubectl kustomize` and is valid Kubernetes, offline.

No cluster is needed: each overlay is rendered by kubectl's built-in kustomize (kubectl must be on
PATH; a machine without it fails here, it does not skip), every object is validated against the
Kubernetes JSON schemas bundled with kubernetes-validate, and the invariants a platform team relies
on are checked: probes, resources, zero-downtime rollouts, non-root pods, headless Services for the
gRPC backends, no secret values committed, cert-manager certificates in prod.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from switchyard.config import load_config
from tests.support import ROOT

K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod", "vllm")
NAMESPACE = "switchyard"
# The Kubernetes versions the manifests must be valid for: the oldest we support and the newest bundled.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.utils.latest_version())
GRPC_PORTS = {"router": 50051, "classifier": 50052, "cache": 50053, "providers": 50054}
# Each gRPC service's plaintext health-only port, which the kubelet's gRPC probes dial.
HEALTH_PORTS = {"router": 50061, "classifier": 50062, "cache": 50063, "providers": 50064, "evaluator": 50065}
SERVICES = ("edge", *GRPC_PORTS, "evaluator")
CERT_MANAGER = "cert-manager.io/v1"
SENTINEL = "redis+sentinel://switchyard-redis."

Obj = dict[str, Any]


@functools.cache
def _kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is not on PATH: tests/deploy renders deploy/k8s with `kubectl kustomize`; install kubectl")
    return found


@functools.cache
def _render(path: str) -> tuple[Obj, ...]:
    result = subprocess.run(
        [_kubectl(), "kustomize", str(K8S / path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {path} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def _of(objs: tuple[Obj, ...], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def _container(deployment: Obj) -> Obj:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, deployment["metadata"]["name"]
    return dict(containers[0])


def _env(container: Obj) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def _config(objs: tuple[Obj, ...]) -> Obj:
    (config,) = [o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("switchyard-config")]
    return dict(yaml.safe_load(config["data"]["config.yaml"]))


def _switchyard_deployments(objs: tuple[Obj, ...]) -> dict[str, Obj]:
    return {n: d for n, d in _of(objs, "Deployment").items() if n in SERVICES}


# ---------------------------------------------------------------- rendering and schemas


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders(overlay: str) -> None:
    objs = _render(f"overlays/{overlay}")
    assert set(SERVICES) <= set(_of(objs, "Deployment")), overlay
    for obj in objs:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == NAMESPACE, (overlay, obj["kind"], obj["metadata"]["name"])


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_kubernetes(overlay: str, version: str) -> None:
    """Core kinds against the official schemas (strict: unknown fields fail); cert-manager's by shape."""
    errors = []
    for obj in _render(f"overlays/{overlay}"):
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["apiVersion"] == CERT_MANAGER:
            errors += [f"{name}: {e}" for e in _cert_manager_errors(obj)]
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{name}: {exc.message} at {'/'.join(map(str, exc.path))}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{name}: no schema for {obj['apiVersion']} {obj['kind']} in Kubernetes {version}")
    assert not errors, "\n".join(errors)


def _cert_manager_errors(obj: Obj) -> list[str]:
    """cert-manager's CRD schemas are not bundled: checks the fields these manifests rely on."""
    spec = obj.get("spec", {})
    if obj["kind"] == "Issuer":
        return [] if len([k for k in ("selfSigned", "ca", "vault", "acme") if k in spec]) == 1 else ["one issuer type"]
    if obj["kind"] != "Certificate":
        return [f"unexpected cert-manager kind {obj['kind']}"]
    errors = [f"missing spec.{k}" for k in ("secretName", "issuerRef") if k not in spec]
    if not spec.get("isCA") and not spec.get("dnsNames"):
        errors.append("a service certificate needs dnsNames")
    if spec.get("issuerRef", {}).get("kind") not in ("Issuer", "ClusterIssuer"):
        errors.append("issuerRef.kind must be Issuer or ClusterIssuer")
    known = {"secretName", "issuerRef", "dnsNames", "uris", "ipAddresses", "commonName", "duration", "renewBefore",
             "privateKey", "usages", "isCA"}  # fmt: skip
    errors += [f"unknown field spec.{k}" for k in set(spec) - known]
    return errors


# ---------------------------------------------------------------- what a platform team relies on


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_is_safe_to_roll_and_run(overlay: str) -> None:
    for name, deployment in _of(_render(f"overlays/{overlay}"), "Deployment").items():
        spec = deployment["spec"]
        pod = spec["template"]["spec"]
        container = _container(deployment)
        assert container.get("readinessProbe") and container.get("livenessProbe"), (name, "probes")
        resources = container.get("resources", {})
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(bound, {})), (name, bound)
        if name != "vllm":  # one GPU per pod: vLLM is recreated, not surged
            rolling = spec["strategy"]["rollingUpdate"]
            assert (spec["strategy"]["type"], rolling["maxUnavailable"], rolling["maxSurge"]) == ("RollingUpdate", 0, 1)
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
        assert sc["capabilities"]["drop"] == ["ALL"], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_switchyard_services_probe_drain_and_scale(overlay: str) -> None:
    objs = _render(f"overlays/{overlay}")
    deployments = _switchyard_deployments(objs)
    hpas, pdbs = _of(objs, "HorizontalPodAutoscaler"), _of(objs, "PodDisruptionBudget")
    for name, deployment in deployments.items():
        container = _container(deployment)
        env = _env(container)
        # The kubelet waits for the preStop sleep plus the service's own drain before it kills the pod.
        grace = float(env["SWITCHYARD_GRACE_PERIOD"])
        sleep = float(container["lifecycle"]["preStop"]["exec"]["command"][1])
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= sleep + grace, name
        if name == "edge":
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        else:
            if name in GRPC_PORTS:
                assert env[f"SWITCHYARD_{name.upper()}_PORT"] == str(GRPC_PORTS[name])
            health = HEALTH_PORTS[name]
            assert env[f"SWITCHYARD_{name.upper()}_HEALTH_PORT"] == str(health), name
            # Native grpc probes on the health port, which needs no client certificate, in every overlay.
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                assert container[probe]["grpc"] == {"port": health}, (name, probe)
        assert hpas[name]["spec"]["scaleTargetRef"]["name"] == name
        assert hpas[name]["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        assert pdbs[name]["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_grpc_backends_are_reached_through_headless_services(overlay: str) -> None:
    objs = _render(f"overlays/{overlay}")
    services = _of(objs, "Service")
    for name, port in GRPC_PORTS.items():
        headless = services[f"{name}-headless"]
        assert headless["spec"]["clusterIP"] == "None", name
        assert headless["spec"]["selector"] == {"app.kubernetes.io/name": name}
        assert [p["port"] for p in headless["spec"]["ports"]] == [port]
    deployments = _switchyard_deployments(objs)
    targets = {**_env(_container(deployments["router"])), **_env(_container(deployments["edge"]))}
    for key, value in targets.items():
        if key.endswith("_TARGET"):
            peer = key.split("_")[-2].lower()
            assert value == f"dns:///{peer}-headless.{NAMESPACE}.svc.cluster.local:{GRPC_PORTS[peer]}", key


def test_network_policies_admit_only_the_callers() -> None:
    policies = _of(_render("overlays/dev"), "NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}

    def callers(name: str) -> list[Obj]:
        (rule,) = policies[name]["spec"]["ingress"]
        return list(rule["from"])

    edge = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "edge"}}}
    router = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "router"}}}
    evaluator = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "evaluator"}}}
    # The edge only for its /readyz health checks (under mutual TLS, health is all it may call there).
    for backend in ("classifier", "cache", "providers"):
        assert callers(backend) == [router, edge], backend
    # The evaluator's hops: it asks the judge through the router, reads samples from Redis.
    assert callers("router") == [
        edge,
        evaluator,
        {"namespaceSelector": {"matchLabels": {"switchyard.io/client": "true"}}},
    ]
    assert callers("evaluator") == [router]
    assert callers("redis") == [{"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "switchyard"}}}]
    assert (
        _of(_render("overlays/dev"), "Deployment")["evaluator"]["spec"]["template"]["metadata"]["labels"][
            "app.kubernetes.io/part-of"
        ]
        == "switchyard"
    )
    assert callers("postgres") == [router]
    assert {"port": 9091, "endPort": 9095, "protocol": "TCP"} in policies["metrics"]["spec"]["ingress"][0]["ports"]


def test_no_secret_values_in_the_base_or_overlays() -> None:
    for path in ("base", *(f"overlays/{o}" for o in OVERLAYS)):
        secrets = [o for o in _render(path) if o["kind"] == "Secret"]
        assert not [s for s in secrets if s.get("data") or s.get("stringData")], path
    router = _container(_switchyard_deployments(_render("base"))["router"])
    (master,) = [e for e in router["env"] if e["name"] == "SWITCHYARD_MASTER_KEY"]
    assert master["valueFrom"]["secretKeyRef"]["name"] == "switchyard-master-key"


def test_prod_has_a_certificate_per_service_mounted_where_tls_reads_it() -> None:
    objs = _render("overlays/prod")
    certificates = _of(objs, "Certificate")
    assert certificates["switchyard-ca"]["spec"]["isCA"] is True
    for name, deployment in _switchyard_deployments(objs).items():
        cert = certificates[f"{name}-tls"]["spec"]
        assert f"{name}.switchyard.internal" in cert["dnsNames"], name
        assert f"spiffe://switchyard/{name}" in cert["uris"], name
        assert {"server auth", "client auth"} <= set(cert["usages"]), name
        assert cert["issuerRef"]["name"] == "switchyard-ca"
        container = _container(deployment)
        env = _env(container)
        assert env["SWITCHYARD_TLS"] == "on", name
        (mount,) = [m for m in container["volumeMounts"] if m["name"] == "tls"]
        for var, file in (("CA", "ca.crt"), ("CERT", "tls.crt"), ("KEY", "tls.key")):
            assert env[f"SWITCHYARD_TLS_{var}"] == f"{mount['mountPath']}/{file}", (name, var)
        (volume,) = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "tls"]
        assert volume["secret"]["secretName"] == cert["secretName"], name
    # Plaintext is said explicitly where there are no certificates.
    for deployment in _switchyard_deployments(_render("overlays/dev")).values():
        assert _env(_container(deployment)).get("SWITCHYARD_TLS", "") != "on"


def test_redis_is_in_the_base_and_sentinel_in_prod() -> None:
    dev, prod = _render("overlays/dev"), _render("overlays/prod")
    assert "redis" in _of(dev, "StatefulSet")
    assert "redis" not in _of(prod, "StatefulSet") and "redis" not in _of(prod, "Service")
    urls = {"dev": "redis://redis:6379/0", "prod": f"{SENTINEL}redis.svc.cluster.local:26379/mymaster/0"}
    for name, objs in (("dev", dev), ("prod", prod)):
        url = _config(objs)["switchyard"]["redis_url"]
        (env,) = [o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("switchyard-env")]
        assert env["data"]["SWITCHYARD_REDIS_URL"] == url == urls[name]


def test_analytics_is_postgres_in_dev_and_a_secret_in_prod() -> None:
    dev, prod = _render("overlays/dev"), _render("overlays/prod")
    assert _config(dev)["switchyard"]["analytics"]["url"] == "postgresql://switchyard@postgres:5432/switchyard"
    assert _of(dev, "StatefulSet")["postgres"] and _of(dev, "Service")["postgres"]["spec"]["ports"][0]["port"] == 5432
    assert "postgres" not in _of(prod, "StatefulSet")
    assert _config(prod)["switchyard"]["analytics"]["url"] == "os.environ/SWITCHYARD_ANALYTICS_URL"
    router = _container(_switchyard_deployments(prod)["router"])
    (url,) = [e for e in router["env"] if e["name"] == "SWITCHYARD_ANALYTICS_URL"]
    assert url["valueFrom"]["secretKeyRef"] == {"name": "switchyard-analytics", "key": "url", "optional": True}


def test_configs_load_and_stay_in_step_with_their_sources(tmp_path: Path) -> None:
    """Each overlay's config is a valid Switchyard config; dev's model_list is deploy/config.yaml's, the
    vllm component's is the base's plus the self-hosted deployments, marked for residency."""
    for overlay in OVERLAYS:
        path = tmp_path / f"{overlay}.yaml"
        path.write_text(yaml.safe_dump(_config(_render(f"overlays/{overlay}"))))
        load_config(str(path))
    compose_config = yaml.safe_load((ROOT / "deploy" / "config.yaml").read_text())
    assert _config(_render("overlays/dev"))["model_list"] == compose_config["model_list"]
    # prod is the base but for where Redis and PostgreSQL are; vllm builds on prod.
    base_config, prod_config = _config(_render("base")), _config(_render("overlays/prod"))
    assert {k: v for k, v in prod_config.items() if k != "switchyard"} == {
        k: v for k, v in base_config.items() if k != "switchyard"
    }
    assert _config(_render("overlays/vllm"))["switchyard"] == prod_config["switchyard"]
    base = _config(_render("base"))["model_list"]
    vllm = _config(_render("overlays/vllm"))["model_list"]
    assert vllm[: len(base)] == base
    extra = vllm[len(base) :]
    assert extra and all(e["litellm_params"]["model"].startswith("hosted_vllm/") for e in extra)
    for entry in extra:
        assert entry["litellm_params"]["api_base"] == f"http://vllm.{NAMESPACE}.svc.cluster.local:8000/v1"
        assert entry["model_info"]["region"] and entry["model_info"]["data_classification"]


def test_vllm_gets_a_gpu_and_only_providers_reach_it() -> None:
    objs = _render("overlays/vllm")
    container = _container(_of(objs, "Deployment")["vllm"])
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert _of(objs, "Service")["vllm"]["spec"]["ports"][0]["port"] == 8000
    (rule,) = _of(objs, "NetworkPolicy")["vllm"]["spec"]["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "providers"}}}]
