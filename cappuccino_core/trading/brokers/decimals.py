"""Decimal quantities and prices for the wire: round to a venue's increment, format without exponent.

A float is read through its shortest repr (``43506.20643078`` stays ``Decimal("43506.20643078")``, not the
binary expansion just below it), rounded to the increment with :data:`~decimal.ROUND_FLOOR` or
:data:`~decimal.ROUND_CEILING`, and written in plain positional form (never ``1e-05``)."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal


def dec(x: float | str | Decimal) -> Decimal:
    """``x`` as a Decimal (a float through its shortest repr); raises ValueError on NaN/inf/garbage."""
    if isinstance(x, Decimal):
        d = x
    elif isinstance(x, float | int):
        d = Decimal(repr(float(x)))
    else:
        try:
            d = Decimal(str(x).strip())
        except ArithmeticError:
            raise ValueError(f"not a decimal number: {x!r}") from None
    if not d.is_finite():
        raise ValueError(f"not a finite number: {x!r}")
    return d


def floor_to(x: float | str | Decimal, step: Decimal) -> Decimal:
    """The largest multiple of ``step`` <= ``x`` (quantities: never more than asked or held)."""
    if step <= 0:
        raise ValueError(f"increment must be > 0, got {step}")
    return (dec(x) / step).to_integral_value(rounding=ROUND_FLOOR) * step


def ceil_to(x: float | str | Decimal, step: Decimal) -> Decimal:
    """The smallest multiple of ``step`` >= ``x``."""
    if step <= 0:
        raise ValueError(f"increment must be > 0, got {step}")
    return (dec(x) / step).to_integral_value(rounding=ROUND_CEILING) * step


def on_step(x: Decimal, step: Decimal) -> bool:
    """Whether ``x`` is an exact multiple of ``step``."""
    return step > 0 and x % step == 0


def plain(x: Decimal) -> str:
    """Positional notation, no exponent, no trailing zeros (``Decimal("1E-5")`` -> ``"0.00001"``)."""
    s = format(x.normalize(), "f")
    return "0" if s in ("-0", "") else s
