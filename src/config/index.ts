// The config layer's public surface: load and validate pipeline configs, their JSON
// Schema, and the template syntax shared with the request layer.
export type * from './types.js';
export { loadConfig, validateConfig, type LoadOptions, type ValidationResult } from './load.js';
export { configJsonSchema } from './json-schema.js';
export {
  parseTemplate,
  templateColumns,
  hasTemplate,
  TemplateSyntaxError,
  TEMPLATE_FILTERS,
  TEMPLATE_BUILTINS,
  type TemplatePart,
  type TemplateFilter,
} from './template-syntax.js';
export { parseDuration, parseSize, parseStatusRange } from './units.js';
export { hostAllowed } from './url-host.js';
export { redact } from './secrets.js';
export { RESERVED_SINK_COLUMNS } from './schema.js';
export { configKeys, configReferenceMarkdown, type ConfigKey } from './reference.js';
