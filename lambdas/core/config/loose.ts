/** Loosely-typed readers of unvalidated JSON, for rules that must run even when the schema failed. */
export interface Loose {
  [k: string]: unknown;
}
export const obj = (v: unknown): Loose =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Loose) : {};
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
