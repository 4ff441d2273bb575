"""Kubernetes resource quantities: CPU in cores (``"500m"``, ``2``) and memory in bytes (``"1Gi"``).

The suffixes are those of Kubernetes' ``resource.Quantity`` (``k8s.io/apimachinery
pkg/api/resource/quantity.go``): ``m`` for milli, decimal ``k M G T P E`` and binary
``Ki Mi Gi Ti Pi Ei``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

from simdeploy.units import parse_with_unit

__all__ = ["Quantity", "parse_quantity"]

_SUFFIX = {
    "": 1.0, "m": 1e-3,
    "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60,
}
def parse_quantity(value: Any) -> float:
    """A quantity as a plain number: ``"500m"`` → 0.5, ``"1Gi"`` → 1073741824.0.

    Raises:
        ValueError: on a negative, non-finite or malformed quantity.
    """
    return parse_with_unit(value, _SUFFIX, "", "quantity", "2, '500m' or '1Gi'",
                           "finite and >= 0")


Quantity = Annotated[float, BeforeValidator(parse_quantity)]
"""CPU cores or memory bytes, written as Kubernetes writes them."""
