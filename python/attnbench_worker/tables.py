"""The tables shared with TypeScript, loaded from tables.json (generated from src/contract/tables.ts;
never edit it by hand: `npx tsx src/contract/write-tables.ts` rewrites it and a test checks it).

Statuses, directions, dtypes, mask formats, slice kinds, CP step and tensor kinds, tolerances, the
CP job format and the registered kernel ids come from here, so the two languages cannot drift.
"""

import json
import os

_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tables.json")

with open(_PATH) as _f:
    TABLES = json.load(_f)

PROTOCOL_VERSION = TABLES["protocol"]
STATUSES = tuple(TABLES["statuses"])
DIRECTIONS = tuple(TABLES["directions"])
DTYPES = tuple(TABLES["dtypes"])
GQA_MODES = tuple(TABLES["gqaModes"])
FORMATS = tuple(TABLES["maskFormats"])
SLICE_KINDS = tuple(TABLES["sliceKinds"])  # wire codes are the indices: 0 full, 1 causal, ...
STEP_KINDS = tuple(TABLES["stepKinds"])
TENSOR_KINDS = tuple(TABLES["tensorKinds"])
TOLERANCE = dict(TABLES["tolerances"])  # max-abs bound by dtype (src/util/tolerance.ts)
GRADIENTS = tuple(TABLES["gradients"])
MIN_WARMUP = TABLES["timing"]["minWarmup"]
MIN_ITERS = TABLES["timing"]["minIters"]
CP_JOB_FORMAT = TABLES["cpJob"]["format"]
CP_JOB_VERSION = TABLES["cpJob"]["version"]
CP_INDEX_FORMAT = TABLES["cpJob"]["indexFormat"]
# Registered kernels (src/kernels/registry.ts): id -> executor ('cpu' kernels run in TypeScript).
KERNELS = {k: v["executor"] for k, v in TABLES["kernels"].items()}
# What the CP kernel id 'auto' runs (src/kernels/cp-auto.ts; the rule: cp/logic.py auto_kernel).
CP_AUTO_CUDA = tuple(TABLES["cpAuto"]["cuda"])
CP_AUTO_FALLBACK = TABLES["cpAuto"]["fallback"]
# triton_ranges' row cost in full tiles (src/mask/adapters/ranges-cost.ts): the lists' LPT order.
RANGES_ROW_COST = TABLES["rangesCost"]["row"]
RANGES_PARTIAL_COST = TABLES["rangesCost"]["partial"]


def tolerance(dtype):
    """The dtype's max-abs bound; a KeyError names the dtype when it has none."""
    return TOLERANCE[dtype]


# The environment's A/B knobs and the values each takes (src/contract/knobs.ts); read them with env_knob.
ENV_KNOBS = {k: tuple(v) for k, v in TABLES["envKnobs"].items()}


def env_knob(name, default=None):
    """The knob's value from the environment (unset or empty: `default`, None when it has none), one of
    ENV_KNOBS[name]; anything else raises ValueError (the TypeScript side refuses it before a worker
    starts: src/cli/worker-env.ts)."""
    values = ENV_KNOBS[name]
    v = os.environ.get(name) or default
    if v is None:
        return None
    if v not in values:
        raise ValueError(f"{name} must be {', '.join(values)}, not {v!r}")
    return v
