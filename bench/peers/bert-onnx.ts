// A BertModel as an ONNX graph (opset 17, standard ops only), from the same checkpoint tensors the
// engine loads, laid out as Hugging Face's optimum export lays out BertModel: inputs input_ids,
// attention_mask, token_type_ids (int64, (B, T)); output last_hidden_state (B, T, C). Per layer:
// MatMul + Add projections (weights stored transposed, (in, out)), Q·Kᵀ / √HD + (1 − mask)·min,
// Softmax, P·V, LayerNormalization(x + residual), FFN with erf GELU (0.5·x·(1 + erf(x/√2))).
// transformers.js's feature-extraction pipeline runs it and pools last_hidden_state itself.

import { FLOAT, INT64, model, node, tensor, valueInfo, type Msg } from './onnx-proto.js';

export interface BertDims {
  layers: number;
  hidden: number;
  heads: number;
  eps: number;
}

export interface Tensor32 {
  shape: number[];
  data: Float32Array;
}

/** Reads an all-F32 safetensors file into tensors (the bench's own random checkpoints). */
export function parseSafetensors(bytes: Uint8Array): Map<string, Tensor32> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, Tensor32>();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (e.dtype !== 'F32') throw new Error(`parseSafetensors: ${name} is ${e.dtype}; this writer only handles F32 checkpoints`);
    const [a, b] = e.data_offsets;
    const copy = bytes.slice(8 + n + a, 8 + n + b); // aligned copy
    out.set(name, { shape: e.shape, data: new Float32Array(copy.buffer, 0, (b - a) / 4) });
  }
  return out;
}

/** (out, in) → (in, out). */
function transpose(t: Tensor32): Tensor32 {
  const [R, C] = t.shape;
  const d = new Float32Array(R * C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) d[c * R + r] = t.data[r * C + c];
  return { shape: [C, R], data: d };
}

/** The ONNX ModelProto of BertModel for checkpoint tensors `w` (HF key names, no "bert." prefix). */
export function bertOnnx(w: Map<string, Tensor32>, dims: BertDims): Msg {
  const nodes: Msg[] = [];
  const inits: Msg[] = [];
  const used = new Set<string>();
  const C = dims.hidden, NH = dims.heads, HD = C / NH;
  let k = 0;
  const op = (type: string, inputs: string[], attrs: Record<string, number | number[] | { float: number }> = {}, out?: string): string => {
    const o = out ?? `${type.toLowerCase()}_${k++}`;
    nodes.push(node(type, inputs, [o], `${type}_${k++}`, attrs));
    return o;
  };
  const weight = (key: string, t = false): string => {
    const x = w.get(key);
    if (!x) throw new Error(`bertOnnx: checkpoint has no tensor ${key}`);
    used.add(key);
    const v = t ? transpose(x) : x;
    inits.push(tensor(key, v.shape, v.data));
    return key;
  };
  const f32 = (name: string, v: number): string => (inits.push(tensor(name, [], Float32Array.of(v))), name);
  const i64 = (name: string, v: number[]): string => (inits.push(tensor(name, [v.length], BigInt64Array.from(v.map(BigInt)))), name);
  const linear = (x: string, p: string): string => op('Add', [op('MatMul', [x, weight(`${p}.weight`, true)]), weight(`${p}.bias`)]);
  const layerNorm = (x: string, p: string): string => op('LayerNormalization', [x, weight(`${p}.weight`), weight(`${p}.bias`)], { axis: -1, epsilon: { float: dims.eps } });

  // Embeddings: word[ids] + position[0..T) + token_type[tt], then LayerNorm.  // (B, T, C)
  const T1 = op('Slice', [op('Shape', ['input_ids']), i64('one', [1]), i64('two', [2])]); // [T]
  const pos = op('Slice', [weight('embeddings.position_embeddings.weight'), i64('zero', [0]), T1, i64('axis0', [0])]); // (T, C)
  const emb = op('Add', [
    op('Add', [op('Gather', [weight('embeddings.word_embeddings.weight'), 'input_ids']), pos]),
    op('Gather', [weight('embeddings.token_type_embeddings.weight'), 'token_type_ids']),
  ]);
  let x = layerNorm(emb, 'embeddings.LayerNorm');

  // Additive mask (B, 1, 1, T): 0 where attended, float32 min where padded (as HF's get_extended_attention_mask).
  const m = op('Unsqueeze', [op('Cast', ['attention_mask'], { to: FLOAT }), i64('axes12', [1, 2])]);
  const maskBias = op('Mul', [op('Sub', [f32('one_f', 1), m]), f32('f32_min', -3.4028234663852886e38)]);
  const heads = i64('heads_shape', [0, 0, NH, HD]);
  const merged = i64('merged_shape', [0, 0, C]);
  const scale = f32('sqrt_hd', Math.sqrt(HD));
  const sqrt2 = f32('sqrt2', Math.SQRT2);
  const half = f32('half', 0.5);

  for (let l = 0; l < dims.layers; l++) {
    const p = `encoder.layer.${l}`;
    const split = (name: string, perm: number[]) => op('Transpose', [op('Reshape', [linear(x, `${p}.attention.self.${name}`), heads])], { perm });
    const q = split('query', [0, 2, 1, 3]); // (B, NH, T, HD)
    const kT = split('key', [0, 2, 3, 1]); // (B, NH, HD, T)
    const v = split('value', [0, 2, 1, 3]); // (B, NH, T, HD)
    const scores = op('Add', [op('Div', [op('MatMul', [q, kT]), scale]), maskBias]); // (B, NH, T, T)
    const ctx = op('MatMul', [op('Softmax', [scores], { axis: -1 }), v]); // (B, NH, T, HD)
    const ctxm = op('Reshape', [op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), merged]); // (B, T, C)
    const a = layerNorm(op('Add', [linear(ctxm, `${p}.attention.output.dense`), x]), `${p}.attention.output.LayerNorm`);
    const h = linear(a, `${p}.intermediate.dense`); // (B, T, I)
    const g = op('Mul', [op('Mul', [h, op('Add', [op('Erf', [op('Div', [h, sqrt2])]), 'one_f'])]), half]);
    x = layerNorm(op('Add', [linear(g, `${p}.output.dense`), a]), `${p}.output.LayerNorm`);
  }
  nodes.push(node('Identity', [x], ['last_hidden_state'], 'output'));

  const unused = [...w.keys()].filter((key) => !used.has(key));
  if (unused.length) throw new Error(`bertOnnx: checkpoint tensors not used by the graph: ${unused.join(', ')}`);
  const ids = (name: string) => valueInfo(name, INT64, ['batch_size', 'sequence_length']);
  return model(
    {
      name: 'BertModel',
      nodes,
      initializers: inits,
      inputs: [ids('input_ids'), ids('attention_mask'), ids('token_type_ids')],
      outputs: [valueInfo('last_hidden_state', FLOAT, ['batch_size', 'sequence_length', C])],
    },
    17,
  );
}
