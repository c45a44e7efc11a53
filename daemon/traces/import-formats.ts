/** The simulator trace formats `trace import` reads (each has an importer in import-trace.ts). */
export const IMPORT_FORMATS = ['scalesim', 'dramsim3', 'ramulator', 'dramsys'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];
