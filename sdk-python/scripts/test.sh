#!/usr/bin/env bash
# The Python SDK's checks (`npm run test:python`, part of `npm test`): mypy --strict
# over the package (its generated stubs excluded, see pyproject.toml), then the pytest
# suite, which installs the package into a clean virtual environment and runs it
# against a real server (DATABASE_URL, REDIS_URL). Debian's interpreter: the one
# python3-grpcio, python3-protobuf, python3-pytest and mypy are installed for.
set -euo pipefail
cd "$(dirname "$0")/.."
python=/usr/bin/python3
for mod in grpc google.protobuf pytest mypy setuptools wheel; do
  "$python" -c "import $mod" 2>/dev/null || {
    echo "$python cannot import $mod: apt-get install python3-grpcio python3-protobuf python3-pytest mypy python3-setuptools python3-wheel python3-venv" >&2
    exit 1
  }
done
"$python" -m mypy --strict src/weft
"$python" -m pytest -q -p no:cacheprovider tests "$@"
