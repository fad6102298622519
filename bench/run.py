"""`make bench`: every benchmark, each in its own process and database, on PostgreSQL.

python bench/run.py            all of them
python bench/run.py roster     roster import and person search (issue: foundation)
python bench/run.py intake     request intake, queues and figures (issue: requests)
python bench/run.py points     ledger posting and rankings (issue: activities and points)
python bench/run.py party      completeness report and overview at 7,000 branches (issue: party)
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["roster", "intake", "points", "party"]


def main() -> int:
    chosen = sys.argv[1:] or BENCHMARKS
    failed = 0
    for name in chosen:
        print(f"\n===== {name} =====", flush=True)
        failed += subprocess.call([sys.executable, str(HERE / f"{name}.py")], cwd=HERE) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
