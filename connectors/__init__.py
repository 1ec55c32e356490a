"""Channel layer: one module per channel; each only translates (verify, parse, render, send)."""
