"""Session used from more devices than ``max_devices``."""

from __future__ import annotations

from dataclasses import dataclass, field

from sessionwatch.rules.kinds._params import COUNT, Params
from sessionwatch.rules.kinds._samples import M, Sample, event
from sessionwatch.rules.kinds._spec import KindSpec, Shape
from sessionwatch.rules.kinds._wording import Alert, Limits, fact, over


@dataclass(frozen=True)
class DeviceBindingParams(Params):
    max_devices: int = field(metadata=COUNT)


def _sample() -> Sample:
    def events(prefix: str, second_device: str) -> tuple[dict[str, object], ...]:
        return (
            event(f"{prefix}-1", 0, "login", device={"id": "dev-1"}),
            event(f"{prefix}-2", 5 * M, "view", device={"id": second_device}),
        )

    return Sample(
        "Session used from another device than it was bound to",
        {"max_devices": 1},
        events("p", "dev-2"),
        events("n", "dev-1"),
        {"session": "sw-1", "event": "p-2"},
        {"nist-800-53": ("SC-23",)},
        ("T1539",),
    )


def _describe(alert: Alert, params: Limits) -> str:
    devices = fact(alert, "device.distinct")
    actual = over(f"{devices if devices is not None else '?'} devices", params, "max_devices")
    now, first = fact(alert, "device.fingerprint") or "?", fact(alert, "device.first") or "?"
    return f"{actual}: {now}, bound to {first}"


KIND = KindSpec(
    name="session_device_binding",
    summary="session used from another device",
    position=10,
    params=DeviceBindingParams,
    shape=Shape.SESSIONS,
    reads=frozenset(
        {"sessionwatch.device.distinct", "sessionwatch.device.fingerprint", "sessionwatch.session.id"}
    ),
    evidence=("sessionwatch.device.fingerprint", "sessionwatch.device.first", "sessionwatch.device.distinct"),
    sample=_sample,
    describe=_describe,
)
