#!/usr/bin/env bash
# Soak: holds half the saturation rate of complete calls against a fresh parleyd for a while and
# checks that the server's resources stay flat.
#
#   scripts/soak.sh [DURATION] [RATE]
#
# DURATION: 90s, 3m, 1h (default 1h). RATE: calls/s to hold; without it (or 0) parley-bench first
# measures the saturation rate (its calls phase's saturation run: 5,000 offered calls/s for 5 s,
# at most 500 unfinished) and holds half of it. Every 10 s it writes a row to build/soak/soak.csv:
# the server's RSS (VmRSS and RssAnon), open descriptors, WAL and database sizes, and the window's
# calls and dial → ringing latency.
# Then build/soak/soak.png (gnuplot) and a verdict per line over the second half of the run
# (least-squares slope as a drift over that half, and max/min): exit status 1 when a line is not
# flat, or when calls failed.
#
# Runs through scripts/bench.sh (same server flags, same build); PARLEYD_FLAGS, PARLEYD and
# PARLEY_BENCH work as there. SOAK_DIR changes the output directory.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-1h}
rate=${2:-0}
if [[ ! $duration =~ ^([0-9]+)([smh]?)$ ]]; then
  echo "usage: scripts/soak.sh [DURATION like 90s, 3m, 1h] [RATE calls/s]" >&2
  exit 2
fi
seconds=${BASH_REMATCH[1]}
case ${BASH_REMATCH[2]} in
  m) seconds=$((seconds * 60)) ;;
  h) seconds=$((seconds * 3600)) ;;
esac
if ((seconds < 60)); then
  echo "soak: at least 60 s, so that the second half has a few samples" >&2
  exit 2
fi
[[ $rate =~ ^[0-9]+$ ]] || { echo "soak: RATE must be a whole number of calls/s" >&2; exit 2; }

out=${SOAK_DIR:-build/soak}
mkdir -p "$out"
csv=$out/soak.csv
png=$out/soak.png
report=$out/report.md
rm -f "$csv" "$png"

held="$rate calls/s"
((rate > 0)) || held="half the saturation rate"
echo "== soak: ${seconds} s at $held; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
bash scripts/bench.sh --phases soak --soak-seconds "$seconds" --soak-rate "$rate" \
  --soak-interval-s 10 --soak-csv "$csv" --report "$report"

# ---- plot ---------------------------------------------------------------------------------------
# Columns: 1 t_s, 2 rss_kib (VmRSS), 3 rss_anon_kib, 4 fds, 5 wal_bytes, 6 db_bytes, 7 completed,
# 8 failed, 9 ringing_count, 10 ringing_p50_ms, 11 ringing_p99_ms.
if command -v gnuplot >/dev/null; then
  gnuplot 2>/dev/null <<EOF
set terminal pngcairo size 1200,1000 font ",10"
set output "$png"
set datafile separator ","
set key left top
set xlabel "seconds"
set grid
set multiplot layout 4,1 title "parleyd soak: $(basename "$csv")"
set ylabel "MiB"
plot "$csv" using 1:(\$3/1024) with linespoints pt 7 ps 0.4 title "RssAnon (heap, stacks)", \
     "$csv" using 1:(\$2/1024) with linespoints pt 7 ps 0.4 title "VmRSS (with the mmap of parley.db)"
set ylabel "descriptors"
plot "$csv" using 1:4 with linespoints pt 7 ps 0.4 title "open descriptors"
set ylabel "MiB"
plot "$csv" using 1:(\$5/1048576) with linespoints pt 7 ps 0.4 title "parley.db-wal", \
     "$csv" using 1:(\$6/1048576) with linespoints pt 7 ps 0.4 title "parley.db"
set ylabel "ms"
plot "$csv" using 1:11 with linespoints pt 7 ps 0.4 title "dial to ringing p99 (10 s window)", \
     "$csv" using 1:10 with linespoints pt 7 ps 0.4 title "p50"
unset multiplot
EOF
  if [[ -s $png ]]; then echo "== plot: $png"; else echo "soak: gnuplot made no plot" >&2; fi
else
  echo "soak: gnuplot not installed (make deps installs gnuplot-nox); no plot" >&2
fi

# ---- verdict ------------------------------------------------------------------------------------
# Over the second half (the first half includes warming up: caches, the WAL reaching its size):
# the least-squares slope times the half's length, as a share of the mean ("drift"), and max/min.
# The memory judged is the heap beyond SQLite's page cache: RssAnon minus the smaller of the
# database's size and the writer's cache_size (32 MiB, server/src/store/sqlite/sqlite_store.cpp;
# SOAK_PAGE_CACHE_MIB overrides). The database grows with every call (the call log), and the
# writer's page cache keeps the pages it writes: RssAnon follows the database one for one until
# the cache is full (measured: RssAnon - database size stayed within 3 MiB over a 3-minute run
# whose database grew from 3 to 21 MiB), which is bounded, not a leak.
# Limits: that heap, descriptors and WAL must not drift by more than 10% nor swing by more than
# 1.25x (descriptors 1.1x). The p99 latency of a 10 s window jumps when another process takes
# the cores for a moment (one window of 237 ms among windows of 6-14 ms on a loaded machine), which
# a least-squares line and max/min take for a trend: its drift is the median of the last third of
# the half minus the median of the first third, as a share of the half's median, within 50%
# (max/min shown, not judged). Every call must complete. RssAnon, VmRSS (which also counts the
# pages of the database the server maps, up to PRAGMA mmap_size, 256 MiB) and the database's
# size are shown, not judged.
verdict=0
awk -F, -v half="$((seconds / 2))" -v cache_mib="${SOAK_PAGE_CACHE_MIB:-32}" '
  NR == 1 { next }
  {
    rows++
    completed += $7; failed += $8
    if ($1 <= half) next
    n++; t[n] = $1
    db = $6 / 1048576
    v[1, n] = $3 / 1024 - (db < cache_mib ? db : cache_mib); v[2, n] = $4; v[3, n] = $5 / 1048576
    v[4, n] = $11; v[5, n] = $3 / 1024; v[6, n] = $2 / 1024; v[7, n] = db
  }
  # Median of v[k, a..b] (insertion sort of a copy: at most 180 values for an hour).
  function median(k, a, b,    m, i, j, x, w) {
    m = 0
    for (i = a; i <= b; i++) {
      x = v[k, i]
      for (j = m; j > 0 && w[j] > x; j--) w[j + 1] = w[j]
      w[j + 1] = x
      m++
    }
    if (m == 0) return 0
    return m % 2 ? w[(m + 1) / 2] : (w[m / 2] + w[m / 2 + 1]) / 2
  }
  END {
    split("heap (MiB)|descriptors|WAL (MiB)|ringing p99 (ms)|RssAnon (MiB)|VmRSS (MiB)|parley.db (MiB)", name, "|")
    split("10 10 10 50 - - -", max_drift, " ")
    split("1.25 1.1 1.25 - - - -", max_ratio, " ")
    if (n < 3) { print "soak: fewer than 3 samples in the second half"; exit 1 }
    bad = 0
    printf "== soak verdict over the second half (%d samples of %d; %d calls completed, %d failed)\n", n, rows, completed, failed
    for (k = 1; k <= 7; k++) {
      st = 0; sv = 0; lo = v[k, 1]; hi = v[k, 1]
      for (i = 1; i <= n; i++) { st += t[i]; sv += v[k, i]; if (v[k, i] < lo) lo = v[k, i]; if (v[k, i] > hi) hi = v[k, i] }
      mt = st / n; mv = sv / n; num = 0; den = 0
      for (i = 1; i <= n; i++) { num += (t[i] - mt) * (v[k, i] - mv); den += (t[i] - mt) ^ 2 }
      slope = den > 0 ? num / den : 0
      drift = mv != 0 ? 100 * slope * (t[n] - t[1]) / mv : 0
      ratio = lo > 0 ? hi / lo : (hi > 0 ? 999 : 1)
      if (k == 4) {  # latency: medians, robust to a few windows disturbed by other processes
        third = int(n / 3)
        whole = median(k, 1, n); first = median(k, 1, third); last = median(k, n - third + 1, n)
        drift = whole > 0 ? 100 * (last - first) / whole : 0
        mv = whole
      }
      if (max_drift[k] == "-") tag = "info"
      else {
        ok = (drift <= max_drift[k] && drift >= -max_drift[k] && (max_ratio[k] == "-" || ratio <= max_ratio[k]))
        if (!ok) bad++
        tag = ok ? "ok" : "FAIL"
      }
      printf "%-4s %-17s %s %9.2f  min %9.2f  max %9.2f  slope %+9.3g/h  drift %+6.1f%% (limit %s%%)  max/min %.2f (limit %s)\n",
        tag, name[k], k == 4 ? "median" : "mean  ", mv, lo, hi, slope * 3600, drift, max_drift[k], ratio, max_ratio[k]
    }
    if (failed > 0) { print "FAIL calls failed during the soak"; bad++ }
    print bad ? "soak: NOT flat" : "soak: flat lines"
    exit bad ? 1 : 0
  }' "$csv" || verdict=1

# Calls that failed or never finished, over the whole soak (its drain included), from the report.
if ! grep -qE '^- calls: [0-9]+ dialed, [0-9]+ completed, 0 failed, 0 unfinished' "$report"; then
  echo "FAIL $(grep -E '^- calls:' "$report" | sed 's/^- //')"
  verdict=1
fi
exit "$verdict"
