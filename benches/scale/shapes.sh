#!/usr/bin/env bash
# The whole analysis and every pack file of synthetic clusters of two shapes (tidy, messy) at
# 1x, 2x and 4x (1,250, 2,500 and 5,000 namespaces by default), one table row each: the
# analysis, the rendering, the peak memory, the findings and the size of each file a person or
# a tool reads. Release build; about 2 minutes. docs/performance.md ("Any cluster shape").
#   benches/scale/shapes.sh [NAMESPACES...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1250 2500 5000)
cargo build --release --quiet --example scale
echo "| shape | namespaces | analysis | render every file | wall | peak RSS | findings (critical) | report.pdf | report.html | findings.json | OSCAL |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for shape in tidy messy; do
  for n in "${sizes[@]}"; do
    out="$( { /usr/bin/time -f 'time %e %M' target/release/examples/scale pack "$shape" "$n"; } 2>&1 )"
    awk -v shape="$shape" -v n="$n" '
      /^assess:/ { analysis = $2; findings = $3; critical = $5 }
      /^render every file:/ { render = $4 }
      $1 == "report.pdf" { pages = $4 " pages" }
      $1 == "report.html" { html = $2 " MB" }
      $1 == "findings.json" { json = $2 " MB" }
      $1 == "oscal-assessment-results.json" { oscal = $2 " MB" }
      /^time / { wall = $2 " s"; peak = sprintf("%.2f GiB", $3 / 1048576) }
      END {
        gsub(/\(/, "", findings); gsub(/\(/, "", pages)
        printf "| %s | %s | %s | %s | %s | %s | %s (%s) | %s | %s | %s | %s |\n",
          shape, n, analysis, render, wall, peak, findings, critical, pages, html, json, oscal
      }' <<<"$out"
  done
done
