// Document lengths (SPEC section 4): histograms, sampling, built-in fits, files by path.
export {
  histogramStats,
  makeSampler,
  parseHistogram,
  sampleDocLens,
  type Bucket,
  type DocLenSampler,
  type Histogram,
  type HistogramStats,
} from './histogram.js';
export { BUILTIN_DOCLENS, builtinHistogram, defaultDocLens, isBuiltinDocLens, type BuiltinDocLens } from './builtin.js';
export { loadHistogram, resolveDocLens } from './load.js';
