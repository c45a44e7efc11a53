import { readFileSync, writeFileSync } from 'node:fs';
import { GENERATED_FILE, WAT_FILE, assembleWat, generatedSource } from './assemble.ts';

/** `npm run build:wasm`: decode.wat → decode-wasm.ts. */
const bytes = await assembleWat(readFileSync(WAT_FILE, 'utf8'));
writeFileSync(GENERATED_FILE, generatedSource(bytes));
console.log(`decode-wasm.ts: ${bytes.length} bytes of wasm`);
