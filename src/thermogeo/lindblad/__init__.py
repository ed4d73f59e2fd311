"""The global secular (Davies) Lindblad generator, per-bath dissipators and currents."""
