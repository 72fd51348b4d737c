"""The development harness: a PostgreSQL cluster the project starts itself
(localpg, used by the tests and the benchmarks) and `make demo` (demo).
Not part of the product: nothing in ksys_app imports it."""
