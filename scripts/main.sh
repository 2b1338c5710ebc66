#!/usr/bin/env bash
# The main job: the Table 2 ablation grid (baseline, +KMLFR, +random erasing, +KEGFR, +KEGFR+KMLFR) on SynthVI
# (generated on first use) with the `synth_cpu` preset of nbs/ablation.ipynb, on the GPU when one is present. Runs,
# tables and figures go to runs/main/ (ignored by git; a finished run is reused only when its run key matches); the
# recorded results under results/ are never touched (results/table2/README.md says how they are refreshed). The runs
# go one after the other, each with every core (-p threads=N, N = nproc; threads are not part of a run's identity).
# Ends by printing Table 2 as a Markdown table and the folder it wrote.
# Extra arguments go to the ablate command: --seeds 0 1 2 (default: seed 0), --configs, --baselines agw (AGW and the
# other Table 1 methods, not run by default), -p NAME=VALUE.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
kglfr ablate --out-dir runs/main --baselines -p threads="$(nproc)" "$@"
