"""Care capacity planner: childcare slots and elderly-care beds (一老一小) per district.

Public API::

    import planner
    sc = planner.load_demo("shanxi")
    res = planner.solve(sc)
"""

from importlib.metadata import PackageNotFoundError, version

from ._errors import PlannerError
from .demo import load_demo
from .model import Model, build
from .result import Result
from .scaffold import init_scenario
from .scenario import Options, Scenario, Targets, load_scenario
from .plan import solve
from .sweep import sweep

try:
    __version__ = version("care-planner")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["PlannerError", "Scenario", "Targets", "Options", "Result", "Model", "build",
           "load_demo", "load_scenario", "init_scenario", "solve", "sweep", "__version__"]
