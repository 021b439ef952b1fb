// Mask pictures: PNG and SVG of any mask at any S (exact per-cell shading), and a gallery.
export { writeGallery, galleryCaption } from './gallery.js';
export { shadeGrid, type ShadeGrid } from './grid.js';
export { INK, MASKED, maskSummary, shadeColor, type RenderOptions } from './picture.js';
export { renderMaskPng } from './png.js';
export { renderMaskSvg } from './svg.js';
