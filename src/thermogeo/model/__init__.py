"""Machines: Pauli-string operators, Hamiltonian builders and the :class:`Machine` spec."""
