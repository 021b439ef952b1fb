// The GPU CP executor's TypeScript side: job files, launch command lines, the run loop, the preset.
export { planJob, shapeOf, DTYPE_BYTES, type CpCaseSpec } from './jobs.js';
export { NCCL_ENV, sbatchScript, slurmTime, torchrunArgs, torchrunLauncherArgs, virtualArgs, workerArgs } from './launch.js';
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
export { failedRow, RAW_RESULTS, runTorchCp, torchRowId, type RunTorchCpOptions, type RunTorchCpResult } from './run.js';
