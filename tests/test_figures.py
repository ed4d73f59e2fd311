"""Figures fit for a paper (issue 14 item 5): ``map --plot`` and :func:`plot_rotor` name the
model and its temperatures, label axes and colour bars with units, and write the format of the
file's extension at the requested resolution. Assertions are on matplotlib objects, not
pixels (docs/decisions/0611-figure-conventions.md)."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import MODELS
from thermogeo.cli import app
from thermogeo.errors import ModelError
from thermogeo.plot import plot_rotor
from thermogeo.plot.style import check_figure_path, colorbar_labels, math_name
from thermogeo.protocols import Circle, response_map

XS, ZS = np.linspace(-2, 2, 9), np.linspace(-1.9, 2.1, 7)  # nodes off the degenerate origin


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def test_rotor_map_names_model_and_temperature_with_units_of_T(q1):
    """Q1 (one temperature T = 1): title with the model's name and T, axes B_x / T, B_z / T,
    colour bars 'rotor Omega^alpha (1/T)' for each bath; the figure shows the map's own values
    (the closed-form rotor of docs/theory.md section 7 at one node)."""
    ds = response_map(q1, ("Bx", XS), ("Bz", ZS))
    fig = plot_rotor(ds, loop=Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5))
    title = fig.get_suptitle()
    assert q1.name in title and "$T = 1$" in title
    panels = [a for a in fig.axes if getattr(a, "_colorbar", None) is None]
    assert [a.get_xlabel() for a in panels] == [r"$B_{x}\,/\,T$"] * 2
    assert [a.get_ylabel() for a in panels] == [r"$B_{z}\,/\,T$"] * 2
    assert colorbar_labels(fig) == [r"rotor $\Omega^{L}$ ($1/T$)",
                                    r"rotor $\Omega^{R}$ ($1/T$)"]
    assert [a.get_title().split(";")[0] for a in panels] == ["bath L", "bath R"]
    r, th = np.hypot(XS[7], ZS[3]), np.arctan2(XS[7], ZS[3])
    z = panels[0].collections[0].get_array().reshape(len(ZS), len(XS))
    assert z[3, 7] == pytest.approx(np.sin(2 * th) / np.cosh(r) ** 2, rel=1e-8)


def test_rotor_map_at_unequal_temperatures_states_each_temperature(q1):
    """Baths at T_L = 2 and T_R = 1: no single T, so energies are in the model's unit and the
    title gives every temperature in it."""
    hot = q1.with_values(**{"L.temperature": 2.0})
    ds = response_map(hot, ("Bx", XS), ("Bz", ZS))
    fig = plot_rotor(ds, bath="L")
    assert "$T_{L} = 2$, $T_{R} = 1$" in fig.get_suptitle()
    (panel,) = [a for a in fig.axes if getattr(a, "_colorbar", None) is None]
    assert panel.get_xlabel() == "$B_{x}$ (energy)"
    assert colorbar_labels(fig) == [r"rotor $\Omega^{L}$ (1/energy)"]


def test_math_names_and_figure_paths():
    assert [math_name(n) for n in ("Bx", "theta", "h_12", "J", "cold")] == [
        "B_{x}", r"\theta", "h_{12}", "J", r"\mathrm{cold}"]
    for ok in ("a.png", "a.PDF", "a.svg", "a.eps"):
        check_figure_path(ok, "--plot")
    with pytest.raises(ModelError, match="--plot.*extension.*svg"):
        check_figure_path("map.docx", "--plot")


def test_map_plot_command_vector_format_and_dpi(tmp_path):
    """``map --plot map.svg --dpi 80`` writes SVG titled with the model; a PNG's pixel size is
    the figure size times --dpi; an unknown extension or a bad --dpi is refused before any work
    (exit 2, the option named, no NetCDF written)."""
    import matplotlib.image as mpimg

    model = str(MODELS / "qubit_pump.toml")
    base = ["map", model, "--x", "Bx=-2:2:9", "--y", "Bz=-1.9:2.1:7", "--bath", "L"]
    r = CliRunner().invoke(app, base + ["--out", str(tmp_path / "m.nc"),
                                        "--plot", str(tmp_path / "m.svg")])
    assert r.exit_code == 0, r.output
    svg = (tmp_path / "m.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg[:2000]
    r = CliRunner().invoke(app, base + ["--out", str(tmp_path / "m.nc"),
                                        "--plot", str(tmp_path / "m.png"), "--dpi", "80"])
    assert r.exit_code == 0, r.output
    width = mpimg.imread(tmp_path / "m.png").shape[1]
    assert width == round((4.8 + 0.4) * 80)  # one panel: (4.8 + 0.4) inches wide
    for args, option in ((["--plot", str(tmp_path / "m.docx")], "--plot"),
                         (["--plot", str(tmp_path / "n.png"), "--dpi", "0"], "--dpi")):
        bad = CliRunner().invoke(app, base + ["--out", str(tmp_path / "bad.nc"), *args])
        assert bad.exit_code == 2 and option in bad.output, bad.output
        assert not (tmp_path / "bad.nc").exists()
