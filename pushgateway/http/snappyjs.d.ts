// snappyjs ships no types; these are the two functions of its documented API.
declare module 'snappyjs' {
  /** Decodes one raw snappy block; throws when its declared length exceeds `maxLength` (checked before allocating). */
  export function uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
  export function compress(uncompressed: Uint8Array): Uint8Array;
}
