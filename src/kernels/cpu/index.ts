// CPU attention kernels: float64 reference, tiled WebAssembly SIMD kernels, plain-JS baseline.
export type { BwdResult, CpuAttnShape, Floats, FwdResult, HeadRange, MaskArg } from './common.js';
export { referenceBackward, referenceForward } from './reference.js';
export { tiledBackward, tiledForward, type TiledOptions } from './tiled.js';
export { plainJsForward } from './plain.js';
