// The codec WebAssembly module: every export of the coders, one module per
// thread (instance.ts). Memory addresses come from ../layout.ts.
export { apackPrepare, apackEncode, apackDecode, apackForget } from './apack';
