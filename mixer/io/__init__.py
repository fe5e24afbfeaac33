"""Everything in the library that touches files lives in this package."""
