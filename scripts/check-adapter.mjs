// Prints the WebGPU adapter Dawn finds and exits 0, or exits 1 when there is none.
// Used by scripts/setup.sh to decide whether the software Vulkan driver must be installed.
import { create } from 'webgpu';

const adapter = await create([]).requestAdapter();
if (!adapter) {
  console.log('no WebGPU adapter');
  process.exit(1);
}
const i = adapter.info;
console.log(`WebGPU adapter: ${[i.vendor, i.architecture, i.description].filter(Boolean).join(' / ') || 'unnamed'}`);
process.exit(0);
