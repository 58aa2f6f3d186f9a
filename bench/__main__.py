"""``python -m bench``: run the benchmark against the test bed (see bench/README.md)."""

from bench.cli import main

main()
