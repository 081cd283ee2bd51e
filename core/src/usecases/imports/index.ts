export {
  importFields,
  requiredImportFields,
  importRowSchema,
  mapHeader,
  parseImportRow,
  neutraliseCell,
  csvLine,
  importTemplateCsv,
  detectDelimiter,
  TextCheck,
} from './format.js';
export { parseCsv, sepLine } from './csv.js';
export type { ImportRow as ImportCsvRow, ImportField } from './format.js';
export { importChunks, importRecords, RecordCounter, MAX_RECORD_BYTES } from './reader.js';
export { runImport, type RunOutcome } from './run.js';
export { ImportFatalError } from './errors.js';
export { applyBatch as applyImportBatch, type BatchContext as ImportBatchContext } from './batch.js';
export {
  createImport,
  getImport,
  listImports,
  cancelImport,
  importErrorsCsv,
  importDuplicatesCsv,
  importWarningsCsv,
  failImport,
  importOptionsSchema,
  type ImportOptions,
} from './service.js';
