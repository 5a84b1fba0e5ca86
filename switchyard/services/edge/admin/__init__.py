"""The edge's admin API: LiteLLM's key, team, spend and cache paths mapped onto AdminService RPCs.

`routes` dispatches paths and forwards credentials, `keys` and `spend` translate JSON ⇄ protobuf,
`fields` reads request fields with a 400 naming any wrong one.
"""

from __future__ import annotations

from switchyard.services.edge.admin.routes import AdminRoutes

__all__ = ["AdminRoutes"]
