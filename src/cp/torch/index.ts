// The GPU CP executor's TypeScript side: job files, launch command lines, the executor (runCp's
// torch backend), the preset,
// the command line's choices (launch, cases) and the check that a python can run it.
export { planJob, shapeOf, DTYPE_BYTES, torchJob, torchRequest, type CpCaseSpec } from './jobs.js';
export { NCCL_ENV, sbatchScript, shellCommand, slurmTime, torchrunArgs, torchrunLauncherArgs, virtualArgs, workerArgs } from './launch.js';
export type { SbatchOptions, TorchrunOptions, WorkerArgs } from './launch.js';
export {
  buildManifest,
  caseId,
  readManifest,
  readMaskSlices,
  writeJobFiles,
  INDEX_FILE,
  JOB_FORMAT,
  JOB_VERSION,
  type CpCaseMeta,
  type CpJob,
  type Manifest,
  type WrittenJobs,
} from './manifest.js';
export { CP_PRESETS, paperCp, PAPER_CP_FAMILIES, PAPER_CP_TOKENS_PER_RANK, type CpPreset, type CpPresetOptions } from './preset.js';
export {
  faultsFile,
  followTorchLaunches,
  heartbeatFile,
  KILL_MARGIN_S,
  launchTag,
  needsBlockTables,
  RAW_RESULTS,
  writeTorchPlan,
  type SpawnFn,
  type TorchRunOptions,
} from './run.js';
export { createTorchExecutor, loadTorchExecutor, type TorchExecutorOptions } from './executor.js';
export { CpMeasurementSchema, failedRow, measurementRow, rowsFromRaw, torchRowId, type CpMeasurement } from './rows.js';
export { arrayKernels, PARTIAL_ARRAYS, type PartialArgs, type PartialArraysHook } from './partial-arrays.js';
export { presetDefaults, planTorchJobs, resolveLaunch, torchCaseSpecs, TORCH_DEFAULT_HEAD_DIM, TORCH_DEFAULT_HEADS } from './options.js';
export type { CaseFlags, LaunchFlags, TorchBackend, TorchDevice, TorchLaunch } from './options.js';
export { probeTorch, requireTorch, torchProblem, type TorchNeeds, type TorchProbe } from './probe.js';
export { launchProcess, STOPPED_EXIT, type LaunchWatch } from './spawn.js';
export { filesFingerprint, LineTail } from './tail.js';
