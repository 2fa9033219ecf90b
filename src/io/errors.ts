// The one error type for every problem with a model's files: missing, malformed, hostile or
// unsupported. The message always names the file so a user knows which download to check.

export class ModelFileError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(file && !message.includes(file) ? `${file}: ${message}` : message);
    this.name = 'ModelFileError';
  }
}

/** A file that does not exist in the source (still a ModelFileError, and named like one). */
export class ModelFileNotFoundError extends ModelFileError {}
