#!/usr/bin/env bash
# Snakemake runs this inside the new environment: install rwe from this checkout (its
# dependencies are the environment's conda packages).
set -euo pipefail
python -m pip install --quiet --no-deps -e "$(dirname "$0")/../.."
