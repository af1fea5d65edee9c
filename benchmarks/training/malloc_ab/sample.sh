#!/bin/bash
# sample.sh PID_A PID_B: VmRSS/VmHWM of two processes and each job's progress, every 30 s
while true; do
  line="$(date -u +%T)"
  for p in $1 $2; do
    r=$(awk '/VmRSS/{print int($2/1024)}' /proc/$p/status 2>/dev/null); h=$(awk '/VmHWM/{print int($2/1024)}' /proc/$p/status 2>/dev/null)
    line="$line $p rss=${r:-gone} hwm=${h:-gone}"
  done
  for f in benchmarks/results/swag-kt-wordnet/work/*/progress.json; do
    [ -f "$f" ] && line="$line $(python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(d['job'][-10:], d['step'], round(d['s_per_step'],2))" "$f")"
  done
  echo "$line" >> samples.txt
  sleep 30
done
