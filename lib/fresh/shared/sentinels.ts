/**
 * Sentinel indices of the island props format (see `serialize.ts`): values JSON
 * cannot express are encoded as these negative references.
 *
 * @module
 */

export const UNDEFINED = -1;
export const NULL = -2;
export const NAN = -3;
export const POSITIVE_INFINITY = -4;
export const NEGATIVE_INFINITY = -5;
export const NEGATIVE_ZERO = -6;
/** An array hole (`[1, , 3]`). */
export const HOLE = -7;
