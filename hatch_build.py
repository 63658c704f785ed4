"""Build hook: a wheel carries the shipped templates and evaluation for ``promptlib demo``.

Only in a regular wheel: an editable install reads them from the checkout, and must not
put a ``promptlib`` folder into site-packages beside it.
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class DemoProject(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "standard":
            build_data["force_include"]["templates"] = "promptlib/_demo/templates"
            build_data["force_include"]["evals"] = "promptlib/_demo/evals"
