"""Units, signs and array conventions, stated once.

* Units: hbar = k_B = 1. Temperatures are energies; time is in units of 1/energy.
* Pauli matrices X, Y, Z with eigenvalues +-1. Qubit 0 is the leftmost tensor factor:
  ``X0`` on two qubits is ``kron(X, I)``. Basis state ``|b_0 b_1 ...>`` with ``|0> = (1, 0)``
  the +1 eigenstate of Z.
* Vectorisation is row-major: ``vec(rho)[a*d + b] = rho[a, b]`` (numpy's ``reshape``). A
  superoperator ``S`` acts as ``vec(S rho) = S @ vec(rho)``;
  ``vec(A rho B) = kron(A, B.T) vec(rho)``.
* Bohr frequency of the matrix element ``[n, m]`` (the jump m -> n) is ``omega = E_m - E_n``:
  positive when the system loses energy to the bath.
* Heat currents are counted positive INTO the system; power is work done ON the system.
* Driving parameters enter affinely: ``H(lam) = H0 + sum_i lam_i V_i``.
* Batched kernels take leading batch axes ``(*b, ...)``; parameter points are ``lam (*b, k)``.
"""

from __future__ import annotations

import math

LN2 = math.log(2.0)
"""ln 2: the per-qubit bound on the geometric heat per cycle, in units of T."""

PAULI_LABELS = ("X", "Y", "Z")
