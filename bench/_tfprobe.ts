import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
(globalThis as any).navigator = { gpu: create([]) };
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-webgpu');
console.log('backends', Object.keys(tf.engine().registryFactory));
const ok = await tf.setBackend('webgpu');
await tf.ready();
console.log('setBackend', ok, tf.getBackend());
const S = 1024;
const x = tf.randomUniform([S, S]); const w = tf.randomUniform([S, S]);
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  const y = tf.matMul(x, w, false, true);
  await y.data();
  const dt = performance.now() - t;
  console.log('tfjs matmul', dt.toFixed(0), 'ms', (2 * S ** 3 / dt / 1e6).toFixed(2), 'GFLOP/s');
  y.dispose();
}
process.exit(0);
