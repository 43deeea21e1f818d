export interface SequenceFields {
  shardCreateTime: number;
  shardIx?: number;
  seqIx?: number | string;
  seqTime?: number;
  byte1?: string;
  version?: number;
}
export interface HashKey {
  toFixed(): string;
  comparedTo(other: string): number;
}
export interface KinesaliteSequenceFunctions {
  parseSequence(seq: unknown): Record<string, unknown>;
  stringifySequence(fields: SequenceFields): string;
  partitionKeyToHashKey(partitionKey: string): HashKey;
}
export const originals: Readonly<KinesaliteSequenceFunctions>;
export const parseSequence: KinesaliteSequenceFunctions['parseSequence'];
export const stringifySequence: KinesaliteSequenceFunctions['stringifySequence'];
export const partitionKeyToHashKey: KinesaliteSequenceFunctions['partitionKeyToHashKey'];
export function speedUpKinesalite(): void;
