/** A problem no retry can fix (the file or the import is unusable): the processor turns it into UnrecoverableError. */
export class ImportFatalError extends Error {
  override name = 'ImportFatalError';
}
