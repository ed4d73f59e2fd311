"""Slow-driving expansion at frozen parameters: d rho_0, the heat response Lambda, the rotor
and the dissipation metric."""

from thermogeo.response.response import Response, response

__all__ = ["Response", "response"]
