/**
 * Strict parsers for the IAM and STS ARNs that name a caller. Only the documented shapes are
 * accepted: whatever does not parse is treated as no caller at all, so an ARN of an unexpected form
 * can never be read as a different principal.
 */

/** `aws`, `aws-cn`, `aws-us-gov`, `aws-iso-b`, … */
const PARTITION = 'aws(?:-[a-z]+)*';
const ACCOUNT = '\\d{12}';
/** IAM user and role names: 1–64 of `\w+=,.@-`; names are unique per account regardless of path. */
const NAME = '[\\w+=,.@-]{1,64}';
/** Optional IAM path (`/division/team/`): printable ASCII, starting and ending with `/`. */
const PATH = '(?:/[\\x21-\\x7e]*)?/';
/** Role session names (AssumeRole, AssumeRoleWithWebIdentity, AssumeRoleWithSAML): 2–64 of `\w+=,.@-`. */
const SESSION = '[\\w+=,.@-]{2,64}';
/** GetFederationToken names: 2–32 of `\w+=,.@-`. */
const FEDERATED_NAME = '[\\w+=,.@-]{2,32}';

const USER_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):user${PATH}(${NAME})$`);
const ROOT_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):root$`);
/** STS leaves the role's path out of a session's ARN: only the name identifies the role. */
const ASSUMED_ROLE_ARN = new RegExp(`^arn:(${PARTITION}):sts::(${ACCOUNT}):assumed-role/(${NAME})/(${SESSION})$`);
const FEDERATED_USER_ARN = new RegExp(`^arn:(${PARTITION}):sts::(${ACCOUNT}):federated-user/(${FEDERATED_NAME})$`);
const ROLE_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):role${PATH}(${NAME})$`);

/** An IAM role, by what its sessions' ARNs carry: partition, account and name (not the path). */
export interface RoleRef {
  readonly partition: string;
  readonly accountId: string;
  readonly roleName: string;
}

/** The principal behind a SigV4-signed request, as API Gateway reports it in `userArn`. */
export type CallerPrincipal =
  | { readonly kind: 'user'; readonly arn: string }
  | { readonly kind: 'root'; readonly arn: string }
  | { readonly kind: 'assumed-role'; readonly arn: string; readonly role: RoleRef; readonly sessionName: string }
  | { readonly kind: 'federated-user'; readonly arn: string };

/** Parses a caller ARN; undefined for anything that is not an IAM user, account root, role session or federated user. */
export function parseCallerArn(arn: string): CallerPrincipal | undefined {
  if (USER_ARN.test(arn)) return { kind: 'user', arn };
  if (ROOT_ARN.test(arn)) return { kind: 'root', arn };
  if (FEDERATED_USER_ARN.test(arn)) return { kind: 'federated-user', arn };
  const session = ASSUMED_ROLE_ARN.exec(arn);
  if (session) {
    const [, partition = '', accountId = '', roleName = '', sessionName = ''] = session;
    return { kind: 'assumed-role', arn, role: { partition, accountId, roleName }, sessionName };
  }
  return undefined;
}

/** Parses a role ARN (`arn:aws:iam::123456789012:role/path/name`); undefined when it is not one. */
export function parseRoleArn(arn: string): RoleRef | undefined {
  const match = ROLE_ARN.exec(arn);
  if (!match) return undefined;
  const [, partition = '', accountId = '', roleName = ''] = match;
  return { partition, accountId, roleName };
}

/** IAM role names are unique without regard to case: `Reporting` and `reporting` are one role. */
export const isSameRole = (a: RoleRef, b: RoleRef): boolean =>
  a.partition === b.partition && a.accountId === b.accountId && a.roleName.toLowerCase() === b.roleName.toLowerCase();
