"""Run the simulator under uvicorn in a daemon thread, as a context manager."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from meetergo_pipeline.simulator.app import SimulatorApp, create_app
from meetergo_pipeline.simulator.config import SimulatorConfig
from meetergo_pipeline.simulator.faults import ScriptedFaults
from meetergo_pipeline.simulator.live import LiveDriver
from meetergo_pipeline.simulator.stats import RequestStats
from meetergo_pipeline.simulator.tenant import Tenant
from meetergo_pipeline.simulator.webhooks import WebhookDispatcher

STARTUP_TIMEOUT_S = 15.0


class SimulatorServer:
    """The simulated meetergo API on a loopback port.

    `with SimulatorServer(SimulatorConfig(seed=1)) as sim: httpx.get(sim.base_url + ...)`.
    Port 0 picks a free port. Pass `tenant` to serve an existing one (e.g. after a restart).
    """

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tenant: Tenant | None = None,
    ) -> None:
        self.config = config or SimulatorConfig()
        self.host = host
        self.requested_port = port
        self.tenant = tenant or Tenant(self.config)
        self.stats = RequestStats()
        self.faults = ScriptedFaults()
        self.app: SimulatorApp = create_app(self.tenant, self.config, self.stats, self.faults)
        self.webhooks = WebhookDispatcher(self.tenant, self.config)
        self.live = LiveDriver(self.tenant, self.config.live_interval_s, self.config.seed)
        self.port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the simulator is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def api_key(self) -> str:
        return self.tenant.api_key

    @property
    def expired_api_key(self) -> str:
        return self.tenant.expired_api_key

    @property
    def personal_token(self) -> str:
        return self.tenant.personal_token

    @property
    def personal_token_user_id(self) -> str:
        return self.tenant.personal_token_user_id

    @property
    def admin_personal_token(self) -> str:
        """A personal access token of the company owner (an admin)."""
        return self.tenant.admin_personal_token

    @property
    def admin_user_id(self) -> str:
        return self.tenant.owner_id

    def add_tenant(self, config: SimulatorConfig, api_key: str | None = None) -> Tenant:
        """Generate one more tenant from `config` and serve it beside the first, selected by
        its credentials; `api_key` replaces its generated key (two tenants generated from the
        same seed hold the same ids, told apart by their keys). Its webhooks are not sent."""
        tenant = Tenant(config)
        if api_key is not None:
            tenant.api_key = api_key
        self.app.add_tenant(tenant)
        return tenant

    def environment(self) -> dict[str, str]:
        """The pipeline's settings that point it at this simulator."""
        return {
            "MEETERGO_API_BASE_URL": self.base_url,
            "MEETERGO_API_KEY": self.api_key,
            "MEETERGO_API_USER_ID": self.admin_user_id,
        }

    def headers(self, user_id: str | None = None) -> dict[str, str]:
        """Authorization (platform key) and the acting-user header (default: the admin)."""
        return {
            "Authorization": f"Bearer {self.api_key}",
            "x-meetergo-api-user-id": user_id or self.admin_user_id,
        }

    def start(self) -> SimulatorServer:
        """Serve (again); a restarted server keeps its port, tenant, stats and faults."""
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port if self.port is not None else self.requested_port))
        self.port = sock.getsockname()[1]
        uvicorn_config = uvicorn.Config(
            self.app,
            http="h11",
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=5,
        )
        self._server = uvicorn.Server(uvicorn_config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name="simulator-uvicorn",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"simulator failed to start on {self.host}:{self.port}")
            time.sleep(0.01)
        self.webhooks = WebhookDispatcher(self.tenant, self.config)
        self.webhooks.start()
        self.live = LiveDriver(self.tenant, self.config.live_interval_s, self.config.seed)
        if self.config.live:
            self.live.start()
        return self

    def stop(self) -> None:
        """Stop serving; pending webhook deliveries are dropped. Safe to call twice."""
        self.live.stop()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self.webhooks.stop()
        self._server = self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state: Any = self.base_url if self.port is not None else "stopped"
        return f"<SimulatorServer {state} seed={self.config.seed}>"
