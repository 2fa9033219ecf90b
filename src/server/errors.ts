// Errors as OpenAI's and vLLM's servers send them: `{ error: { message, type, param, code } }`
// with `code` the HTTP status (vLLM's ErrorInfo). ApiError carries the status through handlers.

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: number };
}

const TYPES: Record<number, string> = {
  400: 'BadRequestError',
  401: 'AuthenticationError',
  404: 'NotFoundError',
  405: 'MethodNotAllowed',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  500: 'InternalServerError',
  503: 'ServiceUnavailableError',
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    /** Extra response headers (Retry-After for 503). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function errorBody(status: number, message: string, param: string | null = null): ErrorBody {
  return { error: { message, type: TYPES[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequestError'), param, code: status } };
}

export const badRequest = (message: string, param: string | null = null) => new ApiError(400, message, param);

/** The queue is full: 503 with Retry-After (seconds). */
export class QueueFullError extends ApiError {
  constructor(depth: number, limit: number, retryAfterS: number) {
    super(503, `the server is busy: ${depth} inputs are queued (limit ${limit}); retry after ${retryAfterS} s`, null, { 'retry-after': String(retryAfterS) });
  }
}
