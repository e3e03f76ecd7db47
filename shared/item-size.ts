/**
 * The size DynamoDB counts for an item, by its documented rules ("DynamoDB item sizes and formats"):
 * attribute names and strings in UTF-8 bytes, a number one byte per two significant digits plus
 * one, null and booleans one byte, lists and maps 3 bytes plus one per element. JSON length is not
 * a safe stand-in: a list of small numbers takes about 1.5 times its JSON length.
 */
export function dynamoItemSize(item: Readonly<Record<string, unknown>>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue; // not stored (removeUndefinedValues)
    size += Buffer.byteLength(name) + valueSize(value);
  }
  return size;
}

function valueSize(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return numberSize(value);
  if (Array.isArray(value)) {
    let size = 3;
    for (const element of value) size += 1 + (element === undefined ? 1 : valueSize(element));
    return size;
  }
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === 'object') {
    let size = 3;
    for (const [name, member] of Object.entries(value)) {
      if (member === undefined) continue;
      size += 1 + Buffer.byteLength(name) + valueSize(member);
    }
    return size;
  }
  // Functions, symbols, bigints never reach the table (the worker refuses them as InvalidResult).
  return 0;
}

/**
 * One byte per two significant digits, plus one (the documented estimate), plus a byte for a sign
 * and for an even digit count: the documented figure is approximate, and an estimate must never
 * fall short of what the table counts.
 */
function numberSize(value: number): number {
  const [mantissa = '0'] = Math.abs(value).toExponential().split('e');
  const significant = mantissa.replace('.', '').replace(/0+$/, '').length || 1;
  return 1 + Math.ceil(significant / 2) + (significant % 2 === 0 ? 1 : 0) + (value < 0 ? 1 : 0);
}
