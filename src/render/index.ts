import type { Format } from './formats.js';
import type { RendererFactory } from './renderer.js';

/**
 * The renderer of each output format, loaded when it is used (so --help and --version stay fast).
 * A new format is a name in FORMATS and a module here.
 */
export const RENDERERS: Record<Format, () => Promise<RendererFactory>> = {
  text: async () => (await import('./text.js')).textRenderer,
  json: async () => (await import('./json.js')).jsonRenderer,
  ndjson: async () => (await import('./ndjson.js')).ndjsonRenderer,
  junit: async () => (await import('./junit.js')).junitRenderer,
  html: async () => (await import('./html.js')).htmlRenderer,
};
