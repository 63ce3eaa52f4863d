"""The cross-language matrix (tests/interop/README.md): every driver writes the test vectors and
every driver reads what each wrote; every ordered pair of drivers races a commit to one key and the
second must get a conflict, then see the first's value. Prints two tables and every failure;
exits 1 if anything failed."""

import argparse
import json
import os
import sys
import tempfile

sys.dont_write_bytecode = True  # No __pycache__ in the source tree.
import drivers  # noqa: E402
from sessiond_process import Sessiond  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONFLICT_KEY = "interop/conflict"


class Report:
    """Cells of the two tables and the failures behind them."""

    def __init__(self):
        self.cells = {}
        self.failures = []
        self.passed = 0

    def record(self, table, row, column, failure=None):
        """Records the check (`row`, `column`) of `table`: passed, or failed with `failure`."""
        self.cells[table, row, column] = "FAIL" if failure else "ok"
        if failure:
            self.failures.append(f"[{table}] {row} → {column}: {failure}")
        else:
            self.passed += 1

    def print_table(self, table, title, names):
        """Prints `table` under `title`: a row and a column per driver name; "-" if not run."""
        width = max(len(name) for name in names + ["FAIL"]) + 2
        print(f"\n{title}")
        print(" " * width + "".join(name.ljust(width) for name in names))
        for row in names:
            cells = (self.cells.get((table, row, column), "-") for column in names)
            print(row.ljust(width) + "".join(cell.ljust(width) for cell in cells))


def write_vectors(directory, name, vectors):
    """Writes a vectors file (clients/testdata's format) into `directory`; returns its path."""
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"vectors": vectors}, f, ensure_ascii=False)
    return path


def check_write_read(all_drivers, vectors_file, timeouts, report):
    """Each driver writes once; every driver reads each written session."""
    written = {}
    for writer in all_drivers:
        outcome = writer.run(["write", vectors_file], timeouts.first)
        session_id = outcome.stdout.strip()
        if outcome.code == 0 and session_id:
            written[writer.name] = session_id
        else:
            report.failures.append(f"[write] {writer.name}: {outcome.describe()}")
    for writer in all_drivers:
        if writer.name not in written:
            continue
        for reader in all_drivers:
            outcome = reader.run(["read", vectors_file, written[writer.name]], timeouts.call)
            report.record("read", writer.name, reader.name,
                          None if outcome.code == 0 else outcome.describe())


def race(first, second, seed_file, expected_file, timeouts):
    """`first` and `second` load one session; `first` commits CONFLICT_KEY, then `second` must
    report a conflict on it and then read `first`'s value. Returns None or what went wrong."""
    seeded = first.run(["write", seed_file], timeouts.call)
    session_id = seeded.stdout.strip()
    if seeded.code != 0 or not session_id:
        return f"seeding with {first.name} write: {seeded.describe()}"
    a = first.start(["commit-after-go", session_id, CONFLICT_KEY, f"from {first.name}"])
    b = second.start(["commit-after-go", session_id, CONFLICT_KEY, f"from {second.name}"])
    problem = None
    try:
        problem = dialogue(first, second, a, b, timeouts)
    finally:
        ends = [(first, "first", a.finish(timeouts.call)), (second, "second", b.finish(timeouts.call))]
    for driver, role, outcome in ends:
        if outcome.code != 0 or (problem and outcome.stderr.strip()):
            problem = (problem + "\n" if problem else "") + \
                f"{driver.name} ({role}) commit-after-go: {outcome.describe()}"
    if problem:
        return problem
    reread = second.run(["read", expected_file, session_id], timeouts.call)
    if reread.code != 0:
        return f"{second.name} read after the conflict: {reread.describe()}"
    return None


def dialogue(first, second, a, b, timeouts):
    """Drives the two running commit-after-go drivers; returns None or what went wrong."""
    loaded = [a.next_line(timeouts.call), b.next_line(timeouts.call)]
    if not all(line and line.startswith("loaded ") for line in loaded):
        return f"expected 'loaded VERSION' from both, got {loaded}"
    if loaded[0] != loaded[1]:
        return f"both loaded one session but printed {loaded}"
    a.send("go")
    committed = a.next_line(timeouts.call)
    if not (committed and committed.startswith("committed ")):
        return f"{first.name} (first) printed {committed!r}, expected 'committed VERSION'"
    b.send("go")
    conflict = b.next_line(timeouts.call)
    if conflict != f"conflict {CONFLICT_KEY}":
        return f"{second.name} (second) printed {conflict!r}, expected 'conflict {CONFLICT_KEY}'"
    return None


def check_conflicts(all_drivers, directory, timeouts, report):
    """Races every ordered pair of drivers (see race)."""
    seed = [{"key": CONFLICT_KEY, "type": "string", "value": "seed"}]
    seed_file = write_vectors(directory, "seed.json", seed)
    for first in all_drivers:
        expected = [{"key": CONFLICT_KEY, "type": "string", "value": f"from {first.name}"}]
        expected_file = write_vectors(directory, f"expected-{first.name}.json", expected)
        for second in all_drivers:
            report.record("conflict", first.name, second.name,
                          race(first, second, seed_file, expected_file, timeouts))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("only", nargs="*", help="drivers to run (default: all of drivers/)")
    parser.add_argument("--vectors", default=os.path.join(ROOT, "clients/testdata/values.json"))
    parser.add_argument("--timeout", dest="call", type=float, default=60,
                        help="seconds each driver call may take")
    parser.add_argument("--first-timeout", dest="first", type=float, default=600,
                        help="seconds a driver's first call may take (it may build the driver)")
    return parser.parse_args()


def main():
    args = parse_args()
    binary = os.environ.get("SESSIOND_BIN", "")
    if not os.access(binary, os.X_OK):
        sys.exit(f"interop: SESSIOND_BIN={binary!r} is not an executable sessiond")
    all_drivers = drivers.discover(os.path.join(HERE, "drivers"))
    if args.only:
        unknown = set(args.only) - {driver.name for driver in all_drivers}
        if unknown:
            sys.exit(f"interop: no driver named {', '.join(sorted(unknown))} in drivers/")
        all_drivers = [driver for driver in all_drivers if driver.name in args.only]
    if not all_drivers:
        sys.exit("interop: no driver in drivers/")
    names = [driver.name for driver in all_drivers]
    print(f"interop: drivers {', '.join(names)}; vectors {args.vectors}")

    report = Report()
    with Sessiond(binary) as server, tempfile.TemporaryDirectory() as directory:
        for driver in all_drivers:
            driver.address = server.address
        check_write_read(all_drivers, args.vectors, args, report)
        check_conflicts(all_drivers, directory, args, report)

    report.print_table("read", "write → read (row wrote, column read)", names)
    report.print_table("conflict", "conflict (row commits first, column second and must conflict)",
                       names)
    if report.failures:
        print("\nFailures:")
        for failure in report.failures:
            print("  " + failure.replace("\n", "\n    "))
    print(f"\n{report.passed} passed, {len(report.failures)} failed")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
