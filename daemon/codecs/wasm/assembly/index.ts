// The codec WebAssembly module: every export of the coders, one module per
// thread (instance.ts). Memory addresses come from ../layout.ts.
export { apackPrepare, apackEncode, apackDecode, apackEncode2, apackDecode2, apackEncode4, apackDecode4, apackForget } from './apack';
export { zvcEncode8, zvcDecode8, zvcEncode16, zvcDecode16, zvcEncode4, zvcDecode4 } from './zvc';
export { sccDecode, sccDecodeStatic, sccEncode } from './scc';
export { ebpcDecode, ebpcEncode } from './ebpc';
export { fpackPrepare, fpackDecodeSplit, fpackDecodeWhole, fpackDecodeWholeTwoPass } from './fpack';
