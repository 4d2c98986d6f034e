"""A faithful stand-in for the live meetergo Platform API, with ground truth for tests.

from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer
with SimulatorServer(SimulatorConfig(seed=42)) as sim:
    ...  # sim.base_url, sim.api_key, sim.tenant.truth(), sim.faults, sim.stats

`sim.tenant.truth().api_created_ids` are the bookings made through the API (see `metering`
for how the company books and the traces it leaves; `score_metering` and `write_id_csv` help
tests measure a metering rule and feed the exact, id-list path).
"""

from meetergo_pipeline.simulator.app import SimulatorApp, create_app
from meetergo_pipeline.simulator.config import SimulatorConfig
from meetergo_pipeline.simulator.errors import TenantError
from meetergo_pipeline.simulator.events import DeliveredEvent, TenantEvent
from meetergo_pipeline.simulator.faults import ScriptedFault, ScriptedFaults
from meetergo_pipeline.simulator.metering import MeteringScore, score_metering, write_id_csv
from meetergo_pipeline.simulator.server import SimulatorServer
from meetergo_pipeline.simulator.stats import RequestRecord, RequestStats
from meetergo_pipeline.simulator.tenant import Tenant, TenantTruth, is_cancelled

__all__ = [
    "DeliveredEvent",
    "MeteringScore",
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
    "score_metering",
    "write_id_csv",
]
