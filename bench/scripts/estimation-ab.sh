#!/usr/bin/env bash
# The sparse layer's estimation and index build, this working tree's against an earlier build (session 15's A/B):
# layer-ab.sh --estimation-only. Usage as there:
#
#   bash bench/scripts/estimation-ab.sh [LENGTH...]   (default 131072 524288; logs in $OUT, or ./layer-ab-logs)
exec bash "$(dirname "$0")/layer-ab.sh" --estimation-only "$@"
