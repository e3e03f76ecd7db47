/**
 * The owner ids the API derives from a verified caller (functions/api/owner.ts), by kind: `jwt:<sub>`,
 * `iam:<user, root or role ARN>`, `cognito:<identityPoolId>:<identityId>`. Operator commands (purge-owner,
 * owner-hash) take owner ids in these forms.
 */
export const OWNER_ID_KINDS = ['jwt', 'iam', 'cognito'] as const;

export type OwnerIdKind = (typeof OWNER_ID_KINDS)[number];

/** `<kind>:<rest>`: the owner id of that kind. */
export const ownerIdOf = (kind: OwnerIdKind, rest: string): string => `${kind}:${rest}`;

/** Whether `id` has the form of an owner id: a known kind, a colon, then something. */
export const isOwnerIdShaped = (id: string): boolean =>
  OWNER_ID_KINDS.some((kind) => id.startsWith(`${kind}:`) && id.length > kind.length + 1);

/** The forms, for usage texts and error messages. */
export const OWNER_ID_FORMS = 'jwt:<sub>, iam:<userArn or role ARN>, or cognito:<identityPoolId>:<identityId>';
