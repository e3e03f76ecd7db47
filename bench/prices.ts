/**
 * us-east-1 list prices used by the cost model. Written from the public pricing pages as we know
 * them, NOT re-checked from this machine (no web access): the "as of" date is our belief of when
 * these figures were current, not a verified quote. Free tiers are ignored. Re-check before quoting.
 */
export const PRICES = {
  region: 'us-east-1',
  asOf: '2025-06 (believed current; not verified online)',
  httpApi: {
    /** First 300 million requests a month; requests are metered in 512 KB increments. */
    perMillionRequests: 1.0,
    source: 'https://aws.amazon.com/api-gateway/pricing/',
  },
  lambda: {
    perMillionRequests: 0.2,
    /** arm64, first 7.5 billion GB-seconds a month; x86_64 is 0.0000166667. */
    perGbSecondArm64: 0.0000133334,
    /** Billed duration is rounded up to the next millisecond. */
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  sqs: {
    /** Standard queue, after the first million free requests; each 64 KB chunk of a payload is one request. */
    perMillionRequests: 0.4,
    chunkBytes: 64 * 1024,
    source: 'https://aws.amazon.com/sqs/pricing/',
  },
  dynamodb: {
    /** On-demand, Standard table class, after the November 2024 price cut (was 1.25 / 0.25). */
    perMillionWriteRequestUnits: 0.625,
    perMillionReadRequestUnits: 0.125,
    /** One WRU writes up to 1 KB; one RRU reads up to 4 KB strongly consistent (two eventually consistent). */
    writeUnitBytes: 1024,
    readUnitBytes: 4096,
    storagePerGbMonth: 0.25,
    /** DynamoDB adds 100 bytes of overhead per stored item (table and each index). */
    itemOverheadBytes: 100,
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  s3: {
    /** S3 Standard: PUT, COPY, POST, LIST requests; a presigned PUT is a PUT. */
    perThousandPutRequests: 0.005,
    /** GET, SELECT and all other requests; a presigned GET is a GET. */
    perThousandGetRequests: 0.0004,
    /** First 50 TB a month. */
    storagePerGbMonth: 0.023,
    /**
     * Transfer into S3 is free; out to the internet $0.09/GB (first 10 TB), as for a result returned by
     * API Gateway, so it grows with the result size whatever the design: not in the per-task cost.
     */
    transferOutPerGb: 0.09,
    source: 'https://aws.amazon.com/s3/pricing/',
  },
} as const;
