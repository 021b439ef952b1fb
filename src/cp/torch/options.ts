// The GPU CP executor's command-line choices, as data: how the ranks are launched (virtual ranks,
// or torchrun over nodes) and which cases run (flags or a preset). Pure: parsed values in, specs
// and a launch out; every inconsistency is one usage line (exit 2) before anything is written.
import { AttnbenchError, badInput, usage } from '../../errors.js';
import { checkPlan } from '../check.js';
import type { CpLayout, PlanCost } from '../types.js';
import { formatTokens } from '../../util/parse.js';
import { planJob, type CpCaseSpec } from './jobs.js';
import { torchrunLauncherArgs } from './launch.js';
import type { CpJob } from './manifest.js';
import { CP_PRESETS } from './preset.js';

export type TorchDevice = 'cuda' | 'cpu';
export type TorchBackend = 'nccl' | 'gloo';

export interface LaunchFlags {
  readonly virtualRanks?: number;
  readonly nprocPerNode?: number;
  readonly nnodes?: number;
  readonly nodeRank?: number;
  readonly rdzvEndpoint?: string;
  readonly rdzvId?: string;
  readonly backend?: string;
  readonly device?: string;
}

export type TorchLaunch =
  | { readonly kind: 'virtual'; readonly world: number; readonly device: TorchDevice }
  | {
      readonly kind: 'dist';
      readonly world: number;
      readonly device: TorchDevice;
      readonly backend: TorchBackend;
      readonly nprocPerNode: number;
      readonly nnodes: number;
      readonly nodeRank?: number;
      readonly rdzvEndpoint?: string;
      readonly rdzvId?: string;
    };

function oneOf<T extends string>(v: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw usage(`${flag} must be ${allowed.join(' or ')}, got '${v}'`);
  return v as T;
}

/**
 * The launch and the world sizes to plan. Worlds come from --world, else from the launch
 * (--virtual-ranks P, --nproc-per-node x --nnodes), else `defaultWorlds` (a preset's); every
 * world must be the launch's (one launch runs one world size).
 */
export function resolveLaunch(f: LaunchFlags, worlds: readonly number[] | undefined, defaultWorlds?: readonly number[]): { launch: TorchLaunch; worlds: number[] } {
  const device = oneOf(f.device, ['cuda', 'cpu'] as const, '--device') ?? 'cuda';
  const backendFlag = oneOf(f.backend, ['nccl', 'gloo'] as const, '--backend');
  if (f.virtualRanks !== undefined) {
    const extra = (
      [
        ['--nproc-per-node', f.nprocPerNode],
        ['--nnodes', f.nnodes],
        ['--node-rank', f.nodeRank],
        ['--rdzv-endpoint', f.rdzvEndpoint],
        ['--rdzv-id', f.rdzvId],
        ['--backend', backendFlag],
      ] as const
    ).filter(([, v]) => v !== undefined);
    if (extra.length) throw usage(`--virtual-ranks runs every rank in one process: drop ${extra.map(([k]) => k).join(', ')}`);
    const world = f.virtualRanks;
    const ws = [...(worlds ?? [world])];
    for (const w of ws) if (w !== world) throw usage(`--world ${w} does not match --virtual-ranks ${world} (one run has one world size)`);
    return { launch: { kind: 'virtual', world, device }, worlds: ws };
  }
  const backend = backendFlag ?? (device === 'cuda' ? 'nccl' : 'gloo');
  if (backend === 'nccl' && device === 'cpu') throw usage('--backend nccl needs --device cuda (use --backend gloo for CPU tensors)');
  const nnodes = f.nnodes ?? 1;
  if (!Number.isSafeInteger(nnodes) || nnodes < 1) throw usage(`--nnodes must be a positive integer, got ${nnodes}`);
  const ws = [...(worlds ?? (f.nprocPerNode !== undefined ? [f.nprocPerNode * nnodes] : (defaultWorlds ?? [])))];
  if (ws.length === 0) throw usage('missing --world (or --nproc-per-node, or --virtual-ranks)');
  let nproc = f.nprocPerNode;
  if (nproc === undefined) {
    const w = ws[0];
    if (w % nnodes !== 0) throw usage(`--world ${w} is not divisible by --nnodes ${nnodes}`);
    nproc = w / nnodes;
  }
  const world = nproc * nnodes;
  for (const w of ws)
    if (w !== world) throw usage(`--world ${w} does not match --nproc-per-node ${nproc} x --nnodes ${nnodes} = ${world} ranks (one launch runs one world size)`);
  const launch: TorchLaunch = { kind: 'dist', world, device, backend, nprocPerNode: nproc, nnodes, nodeRank: f.nodeRank, rdzvEndpoint: f.rdzvEndpoint, rdzvId: f.rdzvId };
  torchrunLauncherArgs(launch); // --node-rank range, --rdzv-endpoint form and presence
  return { launch, worlds: ws };
}

/** Per-case settings a flag passes through to every case spec unchanged. */
type PassThrough = Pick<CpCaseSpec, 'dtype' | 'kernel' | 'warmup' | 'iters' | 'checkUpTo' | 'docLens' | 'gitRev'>;

export interface CaseFlags extends Partial<PassThrough> {
  readonly preset?: string;
  readonly schemes?: readonly string[];
  readonly families?: readonly string[];
  readonly seqlens?: readonly number[];
  readonly tokensPerRank?: number;
  readonly layout?: CpLayout;
  /** Mask family parameters for one family (the CLI's --param, routed to the families that have it). */
  readonly params?: (family: string) => Readonly<Record<string, number | string>>;
  readonly seed?: number;
  readonly heads?: { readonly headsQ: number; readonly headsKv: number };
  readonly headDim?: number;
}

/** Default shape without a preset: the paper's 64:8 heads, d = 128. */
export const TORCH_DEFAULT_HEADS = { headsQ: 64, headsKv: 8 } as const;
export const TORCH_DEFAULT_HEAD_DIM = 128;

/** A preset's own world sizes and families (the defaults its flags override). */
export function presetDefaults(name: string): { readonly worlds: number[]; readonly families: string[] } {
  const cases = presetOf(name)().cases;
  return { worlds: [...new Set(cases.map((c) => c.world))], families: [...new Set(cases.map((c) => c.family))] };
}

function presetOf(name: string) {
  const p = Object.hasOwn(CP_PRESETS, name) ? CP_PRESETS[name] : undefined; // not 'toString'
  if (!p) throw badInput(`unknown CP preset '${name}' (known: ${Object.keys(CP_PRESETS).join(', ')})`);
  return p;
}

/**
 * Case specs, family-major within each world (consecutive cases share the mask and inputs, so
 * the executor reuses its reference). With a preset, flags override the preset's fields.
 */
export function torchCaseSpecs(f: CaseFlags, worlds: readonly number[]): CpCaseSpec[] {
  let specs: CpCaseSpec[];
  if (f.preset !== undefined) {
    if (f.seqlens) throw usage(`--preset ${f.preset} sets the length per rank: use --tokens-per-rank instead of --seqlen`);
    specs = presetOf(f.preset)({
      worlds,
      schemes: f.schemes,
      families: f.families,
      tokensPerRank: f.tokensPerRank,
      kernel: f.kernel,
      dtype: f.dtype,
      warmup: f.warmup,
      iters: f.iters,
      checkUpTo: f.checkUpTo,
      seed: f.seed,
      gitRev: f.gitRev,
    }).cases.map((c) => ({
      ...c,
      ...(f.heads ?? {}),
      headDim: f.headDim ?? c.headDim,
      layout: f.layout ?? c.layout,
      params: f.params?.(c.family) ?? c.params,
      docLens: f.docLens ?? c.docLens,
    }));
  } else {
    if (!f.schemes?.length) throw usage('missing required option --scheme (or --preset)');
    if (!f.families?.length) throw usage('missing required option --family (or --preset)');
    if (f.seqlens && f.tokensPerRank !== undefined) throw usage('give --seqlen or --tokens-per-rank, not both');
    if (!f.seqlens && f.tokensPerRank === undefined) throw usage('missing required option --seqlen (or --tokens-per-rank)');
    specs = [];
    for (const world of worlds)
      for (const family of f.families)
        for (const seqlen of f.seqlens ?? [f.tokensPerRank! * world])
          for (const scheme of f.schemes)
            specs.push({
              scheme,
              family,
              world,
              seqlen,
              layout: f.layout,
              params: f.params?.(family) ?? {},
              seed: f.seed ?? 0,
              ...(f.heads ?? TORCH_DEFAULT_HEADS),
              headDim: f.headDim ?? TORCH_DEFAULT_HEAD_DIM,
              dtype: f.dtype ?? 'bfloat16',
              kernel: f.kernel,
              warmup: f.warmup,
              iters: f.iters,
              checkUpTo: f.checkUpTo,
              docLens: f.docLens,
              gitRev: f.gitRev,
            });
  }
  const family = new Map<string, number>();
  for (const s of specs) if (!family.has(s.family)) family.set(s.family, family.size);
  return specs
    .map((s, i) => ({ s, i }))
    .sort((a, b) => a.s.world - b.s.world || family.get(a.s.family)! - family.get(b.s.family)! || a.s.seqlen - b.s.seqlen || a.i - b.i)
    .map(({ s }) => s);
}

const label = (s: CpCaseSpec) => `${s.scheme} ${s.family} S=${formatTokens(s.seqlen)} P=${s.world}`;

/** Plans every case and runs the plan checker; the first failure is one line naming the case. */
export function planTorchJobs(specs: readonly CpCaseSpec[], costOf?: (spec: CpCaseSpec) => PlanCost | undefined): CpJob[] {
  return specs.map((s) => {
    let job: CpJob;
    try {
      job = planJob(s, costOf?.(s));
    } catch (e) {
      // Planner messages start with the scheme; the case says the rest.
      if (e instanceof AttnbenchError) {
        const m = e.message.startsWith(`${s.scheme}: `) ? e.message.slice(s.scheme.length + 2) : e.message;
        throw new AttnbenchError(e.code, `${label(s)}: ${m}`, e.exit);
      }
      throw e;
    }
    const v = checkPlan(job.plan, job.mask);
    if (v.length) throw new AttnbenchError('internal', `${label(s)}: the ${s.scheme} plan fails the checker: ${v[0].message}`);
    return job;
  });
}
