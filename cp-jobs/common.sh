# Sourced by device-run.sh and device-run-8k.sh (bash): the device call's environment, a timed
# step, and the summary printed at the end. Sets OUT (default /tmp/cp-out) with $OUT/traces.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONPATH=$PWD/python PYTHONUNBUFFERED=1
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
OUT=${OUT:-/tmp/cp-out}; mkdir -p "$OUT/traces"
t0=$(date +%s)

# timed SECONDS COMMAND...: run under timeout, then print its exit status and the time since t0.
timed() {
  local limit=$1; shift
  timeout "$limit" "$@"
  echo "rc=$? t=$(( $(date +%s) - t0 ))s"
}

# summarize LOG TGZ: pack $OUT/traces into $OUT/TGZ, print a line per row of every $OUT/*.jsonl
# (file, scheme, family, direction, status, TFLOP/s, largest max-abs error but lse, message), then
# the log's errors, exit codes and section lines.
summarize() {
  local log=$1 tgz=$2
  tar czf "$OUT/$tgz" -C "$OUT" traces && rm -rf "$OUT/traces"
  python3 - "$OUT" <<'PY'
import json, os, sys
for f in sorted(os.listdir(sys.argv[1])):
    if not f.endswith(".jsonl"):
        continue
    for line in open(os.path.join(sys.argv[1], f)):
        r = json.loads(line)
        e = r.get("error") or {}
        mx = max([v["maxAbs"] for k, v in e.items() if isinstance(v, dict) and k != "lse"] or [float("nan")])
        print(f"{f[:-6][:12]:12s} {r['scheme'][:10]:10s} {r['family'][:15]:15s} {r['direction']} {r['status'][:5]:5s} tf={r['tflops'] or 0:7.1f} err={mx:.1e} {(r['message'] or '')[:80]}")
PY
  grep -v "^\s*$" "$log" | grep -v AOTAutograd | grep -iE "error|Traceback|rc=|==|torch" | tail -40
}
