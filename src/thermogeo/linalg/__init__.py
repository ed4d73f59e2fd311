"""Dense linear algebra kernels (numpy/scipy only): vectorisation, Bohr-frequency grouping,
steady state and Drazin solves. Nothing here knows about qubits or baths."""
