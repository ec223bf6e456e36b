#!/usr/bin/env python
"""Benchmark entry point: ``python run_benchmark.py --model=all --dataset=amazon-beauty``."""
import sys

from recbole_diger.cli import main

if __name__ == "__main__":
    sys.exit(main())
