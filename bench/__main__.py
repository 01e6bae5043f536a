"""`python -m bench [name ...]` (or `make bench`) runs the benchmarks and prints one line each."""

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    available = sorted(
        module.name.removeprefix("bench_")
        for module in pkgutil.iter_modules([str(Path(__file__).parent)])
        if module.name.startswith("bench_")
    )
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", metavar="name", help=", ".join(available))
    chosen = parser.parse_args().names or available
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        parser.error(f"no benchmark called {', '.join(unknown)}; there are {', '.join(available)}")
    failed = False
    for name in chosen:
        benchmark = importlib.import_module(f"bench.bench_{name}")
        line, met = benchmark.run()
        print(line, flush=True)
        failed |= not met
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
