"""A faithful stand-in for the meetergo Platform API, as docs/meetergo-api.md describes it.

from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer
with SimulatorServer(SimulatorConfig(seed=42)) as sim:
    ...  # sim.base_url, sim.api_key, sim.tenant.truth(), sim.faults, sim.stats
"""

from meetergo_pipeline.simulator.app import SimulatorApp, create_app
from meetergo_pipeline.simulator.config import SimulatorConfig
from meetergo_pipeline.simulator.errors import TenantError
from meetergo_pipeline.simulator.events import DeliveredEvent, TenantEvent
from meetergo_pipeline.simulator.faults import ScriptedFault, ScriptedFaults
from meetergo_pipeline.simulator.server import SimulatorServer
from meetergo_pipeline.simulator.stats import RequestRecord, RequestStats
from meetergo_pipeline.simulator.tenant import Tenant, TenantTruth, is_cancelled

__all__ = [
    "DeliveredEvent",
    "RequestRecord",
    "RequestStats",
    "ScriptedFault",
    "ScriptedFaults",
    "SimulatorApp",
    "SimulatorConfig",
    "SimulatorServer",
    "Tenant",
    "TenantError",
    "TenantEvent",
    "TenantTruth",
    "create_app",
    "is_cancelled",
]
