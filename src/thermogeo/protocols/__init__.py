"""Closed driving protocols (loops in a plane of two parameters) and cycle figures of merit."""

from thermogeo.protocols.paths import (Circle, Ellipse, FourierLoop, Loop, Polygon,
                                       Rectangle, Reparametrized, SampledLoop, Sector)

__all__ = ["Circle", "Ellipse", "FourierLoop", "Loop", "Polygon", "Rectangle",
           "Reparametrized", "SampledLoop", "Sector"]
