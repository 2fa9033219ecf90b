// PyLate folder (test/fixtures/pylate-tiny: Transformer + two Dense modules, "[Q] " / "[D] "
// prefixes added to the tokenizer, expansion tokens attended) against its float64 goldens.

import { lateGoldenSuite } from './late-golden.js';

lateGoldenSuite('pylate-tiny', 'PyLate folder, 2-layer Dense stack, expansion tokens attended');
