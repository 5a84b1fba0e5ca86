"""`switchyard up --replicas`: each replica of a service gets ports of its own, so none fails to bind."""

from __future__ import annotations

from switchyard.config import load_config
from switchyard.replicas import layout

GRPC = ("router", "classifier", "cache", "providers")


def test_only_the_first_replica_keeps_a_configured_health_port() -> None:
    environ = {"SWITCHYARD_ROUTER_HEALTH_PORT": "50061"}
    routers = layout(load_config(None), {"router": 3}, GRPC, ("127.0.0.1", 8080), environ)["router"]
    envs = [replica.env() for replica in routers]
    # The first inherits the variable from up's environment; the others are told to serve none.
    assert "SWITCHYARD_ROUTER_HEALTH_PORT" not in envs[0]
    assert [env["SWITCHYARD_ROUTER_HEALTH_PORT"] for env in envs[1:]] == ["0", "0"]
    assert len({env["SWITCHYARD_ROUTER_PORT"] for env in envs}) == 3
