"""Demo data shipped with the planner (installed as ``planner.geodata``)."""
