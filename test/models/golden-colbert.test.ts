// Stanford ColBERT checkpoint (test/fixtures/colbertv2-tiny: HF_ColBERT config, `bert.` weights +
// `linear.weight`, artifact.metadata; unattended [MASK] expansion) against its float64 goldens.

import { lateGoldenSuite } from './late-golden.js';

lateGoldenSuite('colbertv2-tiny', 'Stanford ColBERT checkpoint, expansion tokens not attended');
