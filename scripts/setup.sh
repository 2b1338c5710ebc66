# Sourced by scripts/main.sh and scripts/test.sh: a virtualenv in .venv with kglfr installed (editable, dev extras).
# KGLFR_FRESH_VENV=1 (the default under CI) recreates it from scratch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
if [ "${KGLFR_FRESH_VENV:-${CI:-0}}" = "1" ] || [ "${KGLFR_FRESH_VENV:-}" = "true" ] || [ "${CI:-}" = "true" ]; then
  rm -rf .venv
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
PYTHONWARNINGS="ignore:Editable installation" python -m pip install -q -e ".[dev]" 2>&1 | grep -v '^WARNING: Location' || true
python -c "import kglfr, torch, torchvision, fastai, nbdev" || { echo "installation failed: see pip output above"; exit 1; }
