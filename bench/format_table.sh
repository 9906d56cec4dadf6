#!/usr/bin/env bash
# stdin: result lines "<name> ratio=<r> key=value ..."; stdout: one aligned table, ratio first, other figures after.
exec awk '
  {
    name[NR] = $1; ratio[NR] = "-"; rest = ""
    for (i = 2; i <= NF; i++) {
      if ($i ~ /^ratio=/) { ratio[NR] = substr($i, 7) } else { rest = rest (rest == "" ? "" : "  ") $i }
    }
    figures[NR] = rest
    if (length($1) > w) w = length($1)
  }
  END {
    if (w < 9) w = 9
    printf "%-" w "s  %8s  %s\n", "BENCHMARK", "RATIO", "FIGURES (ours vs same-run baseline)"
    for (i = 1; i <= NR; i++) printf "%-" w "s  %8s  %s\n", name[i], ratio[i], figures[i]
  }'
