// Dispatch from config.json to an architecture: each family named by EncoderConfig.family maps to
// the Architecture exported by its own file. Adding an architecture = one line here (see README,
// "Adding an architecture").

import { ModelFileError } from '../io/errors.js';
import type { Architecture } from './architecture.js';
import { BERT } from './bert.js';
import type { EncoderConfig } from './config.js';
import { MODERNBERT } from './modernbert.js';
import { NOMIC_BERT } from './nomic_bert.js';
import { QWEN3 } from './qwen3.js';

const ARCHITECTURES: readonly Architecture[] = [BERT, MODERNBERT, NOMIC_BERT, QWEN3];

/** The architecture that loads `cfg` (its family was validated by parseConfig). */
export function architectureFor(cfg: EncoderConfig): Architecture {
  const arch = ARCHITECTURES.find((a) => a.families.includes(cfg.family));
  if (!arch) throw new ModelFileError(`no architecture loads family "${cfg.family}"`, 'config.json');
  return arch;
}
