"""planner.widgets: the JupyterLab app (ipywidgets) on top of the planner's public API.

Usage::

    import planner
    from planner.widgets import PlannerApp
    app = PlannerApp(planner.load_demo("shanxi"))
    app            # sliders, map, tables; app.wait() returns the Result once solved

The widgets only edit a copy of a :class:`planner.Scenario` and render a
:class:`planner.Result`: no planning logic lives here, and ``planner`` itself
never imports ipywidgets.
"""

from .app import PlannerApp
from .controls import Controls

__all__ = ["PlannerApp", "Controls"]
