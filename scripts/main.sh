#!/usr/bin/env bash
# Set up .venv and run the main job: the Table 2 ablation grid (baseline, +KMLFR, +RandomErasing, +KEGFR,
# +KEGFR+KMLFR) and the AGW baseline on SynthVI (generated on first use), on the CPU recipe of nbs/ablation.ipynb.
# Runs go to runs/ (resumable: finished runs are skipped), tables and figures to results/table2/.
# Extra arguments are passed to `kglfr ablate` (e.g. --seeds 0 1, --epochs 8).
set -euo pipefail
source "$(dirname "$0")/setup.sh"
kglfr ablate "$@"
