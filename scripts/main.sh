#!/usr/bin/env bash
# Set up .venv and run the main job on SynthVI: generate the default SYSU-layout SynthVI set and validate it.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
root=${KGLFR_DATA:-data}/synthvi/sysu-default
[ -f "$root/exp/test_id.txt" ] || kglfr synth --layout sysu --root "$root"
kglfr check-data "$root"
