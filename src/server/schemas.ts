// JSON schemas for request bodies (validated by fastify's Ajv before a handler runs). Unknown
// fields are accepted and ignored, as vLLM's OpenAI-compatible server does. The number of inputs
// per request is checked by the handlers (a clearer message than a schema's maxItems).

/** Hints for schema failures of fields whose schema is an anyOf (Ajv's own message says little). */
export const FIELD_HINTS: Record<string, string> = {
  input: 'input must be a non-empty string, array of strings, array of token ids, or array of non-empty token-id arrays',
  text_1: 'text_1 must be a string or an array of strings',
  text_2: 'text_2 must be a string or an array of strings',
  queries: 'queries must be a string or an array of strings',
  documents: 'documents must be a string or an array of strings',
};

const nullable = (s: object) => ({ anyOf: [s, { type: 'null' }] });

const common = {
  model: nullable({ type: 'string' }),
  user: nullable({ type: 'string' }),
  truncate_prompt_tokens: nullable({ type: 'integer', minimum: -1 }),
  truncation_side: nullable({ type: 'string', enum: ['left', 'right'] }),
  use_activation: nullable({ type: 'boolean' }),
};

function inputSchema() {
  return {
    anyOf: [
      { type: 'string' },
      { type: 'array', minItems: 1, items: { type: 'string' } },
      { type: 'array', minItems: 1, items: { type: 'integer' } },
      { type: 'array', minItems: 1, items: { type: 'array', minItems: 1, items: { type: 'integer' } } },
    ],
  };
}

const encoding = {
  encoding_format: { type: 'string', enum: ['float', 'base64'], default: 'float' },
  dimensions: nullable({ type: 'integer', minimum: 1 }),
};

export function embeddingsSchema() {
  return {
    type: 'object',
    required: ['input'],
    properties: { ...common, ...encoding, input: inputSchema() },
  };
}

export function poolingSchema() {
  return {
    type: 'object',
    required: ['input'],
    properties: {
      ...common,
      ...encoding,
      input: inputSchema(),
      // 'sparse' is this server's name for BGE-M3's lexical weights ({ token id: weight }).
      task: nullable({ type: 'string', enum: ['embed', 'token_embed', 'sparse'] }),
    },
  };
}

function textOrTexts() {
  return { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
}

export function scoreSchema() {
  return {
    type: 'object',
    properties: { ...common, text_1: textOrTexts(), text_2: textOrTexts(), queries: textOrTexts(), documents: textOrTexts() },
    anyOf: [{ required: ['text_1', 'text_2'] }, { required: ['queries', 'documents'] }],
  };
}

export function rerankSchema() {
  return {
    type: 'object',
    required: ['query', 'documents'],
    properties: {
      ...common,
      query: { type: 'string' },
      documents: { type: 'array', items: { type: 'string' } },
      top_n: { type: 'integer', minimum: 0, default: 0 },
    },
  };
}

export interface CommonBody {
  model?: string | null;
  user?: string | null;
  truncate_prompt_tokens?: number | null;
  truncation_side?: 'left' | 'right' | null;
  use_activation?: boolean | null;
}

export interface EmbeddingsBody extends CommonBody {
  input: string | string[] | number[] | number[][];
  encoding_format: 'float' | 'base64';
  dimensions?: number | null;
}

export interface PoolingBody extends EmbeddingsBody {
  task?: 'embed' | 'token_embed' | 'sparse' | null;
}

export interface ScoreBody extends CommonBody {
  text_1?: string | string[];
  text_2?: string | string[];
  queries?: string | string[];
  documents?: string | string[];
}

export interface RerankBody extends CommonBody {
  query: string;
  documents: string[];
  top_n: number;
}
