"""The data handlers: input, output, transform and delay."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from flowdesk.engine.context import NodeContext
from flowdesk.engine.registry import handler


class InputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="input")


class OutputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="output")

    value: Any = Field(
        default=None,
        description="What to output (may hold templates). Leave unset to collect the dependencies' outputs.",
    )


class TransformConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="transform")

    value: Any = Field(
        description="A structure that may hold templates; its resolved form is the output."
    )


class DelayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="delay")

    seconds: float = Field(ge=0, le=86_400, description="How long to wait.")


@handler("input", InputConfig, category="Data")
async def run_input(config: InputConfig, context: NodeContext) -> Any:
    """Outputs the parameters the run was started with."""
    return dict(context.params)


@handler("output", OutputConfig, category="Data")
async def run_output(config: OutputConfig, context: NodeContext) -> Any:
    """Collects its dependencies' outputs by node id, or renders `value`."""
    if "value" in config.model_fields_set:
        return config.value
    return dict(context.inputs)


@handler("transform", TransformConfig, category="Data")
async def run_transform(config: TransformConfig, context: NodeContext) -> Any:
    """Reshapes data: outputs `value` with its templates resolved."""
    return config.value


@handler("delay", DelayConfig, category="Flow")
async def run_delay(config: DelayConfig, context: NodeContext) -> Any:
    """Waits `seconds` (cancellable), then outputs how long it waited."""
    await asyncio.sleep(config.seconds)
    return {"seconds": config.seconds}
