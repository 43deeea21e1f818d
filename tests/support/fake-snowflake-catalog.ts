/**
 * The account behind the fake SQL API (fake-snowflake.ts): a catalog that accepts the statements
 * snowflake/migrations, teardown.sql, the migration runner and the deploy's custom resource send,
 * and remembers what they made, so that what is read back (DESC INTEGRATION, SHOW PIPES, the
 * migration history, SYSTEM$VALIDATE_STORAGE_INTEGRATION) is what was created. Strict as the real
 * account is where it matters to us:
 *
 * - any other SQL is a compilation error (001003), as in the bare fake;
 * - an object that does not exist, or whose schema or integration does not, is
 *   002003 "… does not exist or not authorized." (DESC, ALTER, SELECT, INSERT, CREATE … in it);
 * - `STORAGE_AWS_IAM_USER_ARN` is one IAM user per account, `STORAGE_AWS_EXTERNAL_ID` what was set;
 *   a notification integration gets `SF_AWS_EXTERNAL_ID` once, when created, publishing as that user;
 * - a pipe's `notification_channel` is one SQS queue per account and region;
 * - `DROP … IF EXISTS` removes what exists and succeeds on what does not.
 *
 * Faults: `failOn` makes a chosen statement fail (a half-failed Create), `validationFailures`
 * makes the storage integration's validation fail that many times first (IAM propagating), and
 * `fake.unreachable` drops every connection.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { type FakeHandler, type FakeOutcome, type FakeSnowflake, type StatementContext, startFakeSnowflake } from './fake-snowflake';

export interface Integration {
  kind: 'storage' | 'notification';
  name: string;
  /** Options as last set (`KEY` → value without quotes; a list's items joined by `,`). */
  options: Record<string, string>;
  /** Chosen by Snowflake when a notification integration is created; never changes. */
  sfExternalId?: string;
  /** The IAM user it publishes as, when a test wants another than the account's one. */
  sfIamUserArn?: string;
}

export interface CatalogObject {
  kind: 'table' | 'dynamic table' | 'view' | 'stage' | 'file format' | 'pipe' | 'alert';
  /** DATABASE.SCHEMA.NAME, upper case. */
  name: string;
  /** The role in the request's context when it was created. */
  owner: string | undefined;
  /** The secondary roles in effect then (`NONE` after USE SECONDARY ROLES NONE in the request). */
  secondaryRoles: string | undefined;
  url?: string;
  integration?: string;
  /** A pipe's COPY (SHOW PIPES → definition). */
  definition?: string;
  errorIntegration?: string;
  /** A Snowpipe Streaming pipe: no notification channel. */
  streaming?: boolean;
  columns?: string[];
  resumed?: boolean;
}

export interface Catalog {
  /** The catalog's statements: put other handlers before it (it answers every statement). */
  handler: FakeHandler;
  databases: Set<string>;
  schemas: Set<string>;
  warehouses: Set<string>;
  roles: Set<string>;
  integrations: Map<string, Integration>;
  objects: Map<string, CatalogObject>;
  /** Rows inserted into tables (the migration history), by table. */
  rows: Map<string, Record<string, string | null>[]>;
  /** Every statement the catalog accepted, as sent, in order, with its context. */
  statements: { sql: string; context: StatementContext }[];
  /** `ALTER PIPE … REFRESH` (and the scripting block's REFRESH MODIFIED_AFTER). */
  refreshes: { pipe: string; modifiedAfter?: string }[];
  /** `SYSTEM$VALIDATE_STORAGE_INTEGRATION` calls and what they answered. */
  validations: { integration: string; url: string; status: 'success' | 'failure' }[];
  /** How many more validations fail before they succeed. */
  validationFailures: number;
  /** The next statement matching `pattern` fails with `error` (default: insufficient privileges), `times` times. */
  failOn(pattern: RegExp, error?: { code: string; sqlState: string; message: string }, times?: number): void;
  /** The account's one IAM user and one queue (per region). */
  iamUserArn: string;
  queueArn: string;
  history(database: string, schema: string): Record<string, string | null>[];
}

const ok = (): FakeOutcome => ({ columns: ['status'], rows: [['Statement executed successfully.']] });
const missing = (what: string, name: string): FakeOutcome => ({
  error: {
    code: '002003',
    sqlState: what === 'Schema' || what === 'Database' ? '02000' : '42S02',
    message: `SQL compilation error:\n${what} '${name}' does not exist or not authorized.`,
  },
});
const compilationError = (message: string): FakeOutcome => ({
  error: { code: '001003', sqlState: '42000', message: `SQL compilation error:\n${message}` },
});
const normalize = (sql: string) =>
  sql
    .replace(/'(?:[^']|'')*'|--[^\n]*|\/\*[\s\S]*?\*\//g, (m) => (m.startsWith("'") ? m : ''))
    .replace(/\s+/g, ' ')
    .trim();
/** `KEY = 'v'`, `KEY = ('a', 'b')`, `KEY = WORD` at the top level of an option list. */
function parseOptions(text: string): Record<string, string> {
  const options: Record<string, string> = {};
  for (const m of text.matchAll(/\b([A-Z_]+)\s*=\s*(\((?:[^()']|'(?:[^']|'')*')*\)|'(?:[^']|'')*'|[\w$.]+)/gi)) {
    const raw = m[2]!;
    options[m[1]!.toUpperCase()] = raw.startsWith('(')
      ? [...raw.matchAll(/'((?:[^']|'')*)'/g)].map((v) => v[1]!).join(',')
      : raw.startsWith("'")
        ? raw.slice(1, -1).replaceAll("''", "'")
        : raw;
  }
  return options;
}

export function fakeSnowflakeCatalog(options: { awsAccount?: string; region?: string; validationFailures?: number } = {}): Catalog {
  const awsAccount = options.awsAccount ?? '210987654321';
  const region = options.region ?? 'us-east-1';
  const faults: { pattern: RegExp; error: { code: string; sqlState: string; message: string }; times: number }[] = [];
  let externalIds = 0;
  const catalog: Catalog = {
    handler: { match: /^[\s\S]+$/, result: () => ({ columns: [], rows: [] }) }, // replaced below
    databases: new Set(),
    schemas: new Set(),
    warehouses: new Set(),
    roles: new Set(['ACCOUNTADMIN', 'SYSADMIN', 'PUBLIC']),
    integrations: new Map(),
    objects: new Map(),
    rows: new Map(),
    statements: [],
    refreshes: [],
    validations: [],
    validationFailures: options.validationFailures ?? 0,
    failOn(pattern, error, times = 1) {
      faults.push({
        pattern,
        times,
        error: error ?? {
          code: '003001',
          sqlState: '42501',
          message: 'SQL access control error:\nInsufficient privileges to operate on account.',
        },
      });
    },
    iamUserArn: `arn:aws:iam::${awsAccount}:user/abc1-s-v2st1234`,
    queueArn: `arn:aws:sqs:${region}:${awsAccount}:sf-snowpipe-AIDAEXAMPLEEXAMPLE-abcdefghijklmnop`,
    history: (database, schema) => catalog.rows.get(`${database}.${schema}.MIGRATION_HISTORY`.toUpperCase()) ?? [],
  };

  const N = '([A-Za-z_][\\w$]*(?:\\.[A-Za-z_][\\w$]*)*)';
  const upper = (name: string) => name.toUpperCase();
  /** DATABASE.SCHEMA.NAME from a name as written and the request's context. */
  const qualify = (name: string, context: StatementContext) => {
    const parts = upper(name).split('.');
    if (parts.length === 3) return parts.join('.');
    if (parts.length === 2) return `${upper(context.database ?? '')}.${parts.join('.')}`;
    return `${upper(context.database ?? '')}.${upper(context.schema ?? '')}.${parts[0]}`;
  };
  const schemaOf = (fqn: string) => fqn.split('.').slice(0, 2).join('.');
  const objectOf = (fqn: string, ...kinds: CatalogObject['kind'][]) => {
    const found = catalog.objects.get(fqn);
    return found && kinds.includes(found.kind) ? found : undefined;
  };
  const create = (kind: CatalogObject['kind'], fqn: string, context: StatementContext, extra: Partial<CatalogObject> = {}) => {
    catalog.objects.set(fqn, {
      kind,
      name: fqn,
      owner: context.role && upper(context.role),
      secondaryRoles: context.secondaryRoles,
      ...extra,
    });
  };
  const row = (columns: string[], values: Record<string, string | null>[]): FakeOutcome => ({
    columns,
    rows: values.map((v) => columns.map((c) => v[c] ?? null)),
  });
  const describe = (options: Record<string, string>): FakeOutcome =>
    row(
      ['property', 'property_type', 'property_value', 'property_default'],
      Object.entries(options).map(([property, value]) => ({
        property,
        property_type: /^(TRUE|FALSE)$/i.test(value) ? 'Boolean' : property.endsWith('LOCATIONS') ? 'List' : 'String',
        property_value: value,
        property_default: '',
      })),
    );
  const likeToRegex = (like: string) =>
    new RegExp(
      `^${like
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        .replace(/%/g, '.*')
        .replace(/_/g, '.')}$`,
      'i',
    );

  type Rule = [RegExp, (m: RegExpExecArray, context: StatementContext, sql: string) => FakeOutcome];
  const rules: Rule[] = [
    [
      new RegExp(`^CREATE DATABASE IF NOT EXISTS ${N}$`, 'i'),
      (m) => {
        catalog.databases.add(upper(m[1]!));
        return ok();
      },
    ],
    [
      new RegExp(`^CREATE SCHEMA IF NOT EXISTS ${N}$`, 'i'),
      (m, c) => {
        const fqn = upper(m[1]!.includes('.') ? m[1]! : `${c.database}.${m[1]}`);
        if (!catalog.databases.has(fqn.split('.')[0]!)) return missing('Database', fqn.split('.')[0]!);
        catalog.schemas.add(fqn);
        return ok();
      },
    ],
    [
      new RegExp(`^CREATE WAREHOUSE IF NOT EXISTS ${N}\\b`, 'i'),
      (m) => {
        catalog.warehouses.add(upper(m[1]!));
        return ok();
      },
    ],
    [
      new RegExp(`^CREATE ROLE IF NOT EXISTS ${N}\\b`, 'i'),
      (m) => {
        catalog.roles.add(upper(m[1]!));
        return ok();
      },
    ],
    [
      new RegExp(`^GRANT [\\w ,]+? ON (DATABASE|SCHEMA|WAREHOUSE|FILE FORMAT|STAGE|TABLE|VIEW|PIPE|INTEGRATION) ${N} TO ROLE ${N}$`, 'i'),
      (m, c) => {
        const [kind, name, role] = [upper(m[1]!), m[2]!, upper(m[3]!)];
        if (!catalog.roles.has(role)) return missing('Role', role);
        const exists =
          kind === 'DATABASE'
            ? catalog.databases.has(upper(name))
            : kind === 'SCHEMA'
              ? catalog.schemas.has(upper(name))
              : kind === 'WAREHOUSE'
                ? catalog.warehouses.has(upper(name))
                : kind === 'INTEGRATION'
                  ? catalog.integrations.has(upper(name))
                  : catalog.objects.has(qualify(name, c));
        return exists ? ok() : missing(kind[0] + kind.slice(1).toLowerCase(), upper(name));
      },
    ],
    [
      new RegExp(`^GRANT ROLE ${N} TO ROLE ${N}$`, 'i'),
      (m) =>
        catalog.roles.has(upper(m[1]!))
          ? catalog.roles.has(upper(m[2]!))
            ? ok()
            : missing('Role', upper(m[2]!))
          : missing('Role', upper(m[1]!)),
    ],
    [
      new RegExp(`^CREATE (STORAGE|NOTIFICATION) INTEGRATION IF NOT EXISTS ${N} (.*)$`, 'i'),
      (m) => {
        const name = upper(m[2]!);
        if (!catalog.integrations.has(name)) {
          const kind = upper(m[1]!) === 'STORAGE' ? 'storage' : 'notification';
          const integration: Integration = { kind, name, options: parseOptions(m[3]!) };
          if (kind === 'notification')
            integration.sfExternalId = `MYACCOUNT_SFCRole=2_${String(++externalIds).padStart(4, '0')}abcdefghijklmnop=`;
          catalog.integrations.set(name, integration);
        }
        return ok();
      },
    ],
    [
      new RegExp(`^ALTER (STORAGE|NOTIFICATION) INTEGRATION ${N} SET (.*)$`, 'i'),
      (m) => {
        const found = catalog.integrations.get(upper(m[2]!));
        if (!found || found.kind !== (upper(m[1]!) === 'STORAGE' ? 'storage' : 'notification')) return missing('Integration', upper(m[2]!));
        Object.assign(found.options, parseOptions(m[3]!));
        return ok();
      },
    ],
    [
      new RegExp(`^DESC(?:RIBE)? (NOTIFICATION )?INTEGRATION ${N}$`, 'i'),
      (m) => {
        const found = catalog.integrations.get(upper(m[2]!));
        if (!found || (m[1] && found.kind !== 'notification')) return missing('Integration', upper(m[2]!));
        if (found.kind === 'storage') {
          const o = found.options;
          return describe({
            ENABLED: o.ENABLED ?? 'true',
            STORAGE_PROVIDER: o.STORAGE_PROVIDER ?? 'S3',
            STORAGE_ALLOWED_LOCATIONS: o.STORAGE_ALLOWED_LOCATIONS ?? '',
            STORAGE_BLOCKED_LOCATIONS: '',
            STORAGE_AWS_IAM_USER_ARN: catalog.iamUserArn,
            STORAGE_AWS_ROLE_ARN: o.STORAGE_AWS_ROLE_ARN ?? '',
            STORAGE_AWS_EXTERNAL_ID: o.STORAGE_AWS_EXTERNAL_ID ?? 'MYACCOUNT_SFCRole=2_generated=',
            COMMENT: o.COMMENT ?? '',
          });
        }
        const o = found.options;
        return describe({
          ENABLED: o.ENABLED ?? 'true',
          TYPE: o.TYPE ?? 'QUEUE',
          DIRECTION: o.DIRECTION ?? 'OUTBOUND',
          NOTIFICATION_PROVIDER: o.NOTIFICATION_PROVIDER ?? 'AWS_SNS',
          AWS_SNS_TOPIC_ARN: o.AWS_SNS_TOPIC_ARN ?? '',
          AWS_SNS_ROLE_ARN: o.AWS_SNS_ROLE_ARN ?? '',
          SF_AWS_IAM_USER_ARN: found.sfIamUserArn ?? catalog.iamUserArn,
          SF_AWS_EXTERNAL_ID: found.sfExternalId!,
          COMMENT: o.COMMENT ?? '',
        });
      },
    ],
    [
      new RegExp(`^CREATE FILE FORMAT IF NOT EXISTS ${N}\\b`, 'i'),
      (m, c) => {
        const fqn = qualify(m[1]!, c);
        if (!catalog.schemas.has(schemaOf(fqn))) return missing('Schema', schemaOf(fqn));
        if (!catalog.objects.has(fqn)) create('file format', fqn, c);
        return ok();
      },
    ],
    [
      new RegExp(`^CREATE STAGE IF NOT EXISTS ${N} (.*)$`, 'i'),
      (m, c) => {
        const fqn = qualify(m[1]!, c);
        if (!catalog.schemas.has(schemaOf(fqn))) return missing('Schema', schemaOf(fqn));
        const o = parseOptions(m[2]!.replace(/FILE_FORMAT = \([^)]*\)/i, ''));
        if (o.STORAGE_INTEGRATION && !catalog.integrations.has(upper(o.STORAGE_INTEGRATION)))
          return missing('Integration', upper(o.STORAGE_INTEGRATION));
        if (!catalog.objects.has(fqn))
          create('stage', fqn, c, { url: o.URL, integration: o.STORAGE_INTEGRATION && upper(o.STORAGE_INTEGRATION) });
        return ok();
      },
    ],
    [
      new RegExp(`^CREATE TABLE IF NOT EXISTS ${N} \\((.*)\\)(?: COMMENT = '(?:[^']|'')*')?$`, 'i'),
      (m, c) => {
        const fqn = qualify(m[1]!, c);
        if (!catalog.schemas.has(schemaOf(fqn))) return missing('Schema', schemaOf(fqn));
        const columns = m[2]!
          .replace(/'(?:[^']|'')*'/g, "''")
          .replace(/\([^)]*\)/g, '')
          .split(',')
          .map((col) => upper(col.trim().split(' ')[0]!));
        if (!catalog.objects.has(fqn)) create('table', fqn, c, { columns });
        return ok();
      },
    ],
    [
      new RegExp(`^ALTER TABLE ${N} ADD COLUMN IF NOT EXISTS (\\w+) `, 'i'),
      (m, c) => {
        const table = objectOf(qualify(m[1]!, c), 'table');
        if (!table) return missing('Table', qualify(m[1]!, c));
        if (!table.columns!.includes(upper(m[2]!))) table.columns!.push(upper(m[2]!));
        return ok();
      },
    ],
    [
      new RegExp(`^CREATE PIPE IF NOT EXISTS ${N} (.*?) AS (COPY INTO ${N}\\b.*? FROM @${N}\\b.*)$`, 'i'),
      (m, c) => {
        const fqn = qualify(m[1]!, c);
        if (!catalog.schemas.has(schemaOf(fqn))) return missing('Schema', schemaOf(fqn));
        if (!objectOf(qualify(m[4]!, c), 'table')) return missing('Table', qualify(m[4]!, c));
        if (!objectOf(qualify(m[5]!, c), 'stage')) return missing('Stage', qualify(m[5]!, c));
        if (!catalog.objects.has(fqn)) create('pipe', fqn, c, { definition: m[3]! });
        return ok();
      },
    ],
    [
      // A Snowpipe Streaming pipe (V1.8.0): rows come from channels, not a stage; nothing notifies it.
      new RegExp(
        `^CREATE PIPE IF NOT EXISTS ${N} (.*?) AS (COPY INTO ${N}\\b.*? FROM TABLE\\(DATA_SOURCE\\(TYPE => 'STREAMING'\\)\\)\\s*\\))$`,
        'i',
      ),
      (m, c) => {
        const fqn = qualify(m[1]!, c);
        if (!catalog.schemas.has(schemaOf(fqn))) return missing('Schema', schemaOf(fqn));
        if (/\bAUTO_INGEST\b/i.test(m[2]!)) return compilationError('AUTO_INGEST is not supported for a streaming pipe');
        if (!objectOf(qualify(m[4]!, c), 'table')) return missing('Table', qualify(m[4]!, c));
        if (!catalog.objects.has(fqn)) create('pipe', fqn, c, { definition: m[3]!, streaming: true });
        return ok();
      },
    ],
    [
      new RegExp(`^COMMENT ON COLUMN ${N}\\.(\\w+) IS '(?:[^']|'')*'$`, 'i'),
      (m, c) => {
        const table = objectOf(qualify(m[1]!, c), 'table');
        if (!table) return missing('Table', qualify(m[1]!, c));
        if (!table.columns!.includes(upper(m[2]!))) return compilationError(`invalid identifier '${upper(m[2]!)}'`);
        return ok();
      },
    ],
    [
      // V1.5.0's block: recreates the pipe with the COPY that reads auth and producer, once.
      new RegExp(`^EXECUTE IMMEDIATE \\$\\$ .* CREATE OR REPLACE PIPE ${N} .*? AS (COPY INTO .*? ON_ERROR = SKIP_FILE); .*\\$\\$$`, 'i'),
      (m, c) => {
        const pipe = objectOf(qualify(m[1]!, c), 'pipe');
        if (!pipe) return missing('Pipe', qualify(m[1]!, c));
        if (pipe.definition!.includes('$1:producer'))
          return row(['anonymous block'], [{ 'anonymous block': 'the pipe already reads auth and producer' }]);
        create('pipe', pipe.name, c, { definition: m[2]! });
        catalog.refreshes.push({ pipe: pipe.name, modifiedAfter: new Date().toISOString() });
        return row(['anonymous block'], [{ 'anonymous block': 'pipe recreated' }]);
      },
    ],
    [
      new RegExp(`^CREATE DYNAMIC TABLE IF NOT EXISTS ${N} .* FROM ${N}\\b`, 'i'),
      (m, c) => {
        const fqn = qualify(m[1]!, c);
        if (!objectOf(qualify(m[2]!, c), 'table')) return missing('Table', qualify(m[2]!, c));
        if (!catalog.objects.has(fqn)) create('dynamic table', fqn, c);
        return ok();
      },
    ],
    [
      new RegExp(`^CREATE OR REPLACE VIEW ${N} COPY GRANTS .*$`, 'i'),
      (m, c) => {
        const fqn = qualify(m[1]!, c);
        if (!catalog.schemas.has(schemaOf(fqn))) return missing('Schema', schemaOf(fqn));
        create('view', fqn, c);
        return ok();
      },
    ],
    [
      new RegExp(`^CREATE OR REPLACE ALERT ${N} .*SNOWFLAKE\\.NOTIFICATION\\.INTEGRATION\\('(\\w+)'\\)`, 'i'),
      (m, c) => {
        const fqn = qualify(m[1]!, c);
        if (!catalog.schemas.has(schemaOf(fqn))) return missing('Schema', schemaOf(fqn));
        if (!catalog.integrations.has(upper(m[2]!))) return missing('Integration', upper(m[2]!));
        create('alert', fqn, c, { integration: upper(m[2]!), resumed: false });
        return ok();
      },
    ],
    [
      new RegExp(`^ALTER ALERT ${N} RESUME$`, 'i'),
      (m, c) => {
        const alert = objectOf(qualify(m[1]!, c), 'alert');
        if (!alert) return missing('Alert', qualify(m[1]!, c));
        alert.resumed = true;
        return ok();
      },
    ],
    [
      new RegExp(`^ALTER PIPE ${N} SET ERROR_INTEGRATION = ${N}$`, 'i'),
      (m, c) => {
        const pipe = objectOf(qualify(m[1]!, c), 'pipe');
        if (!pipe) return missing('Pipe', qualify(m[1]!, c));
        const integration = catalog.integrations.get(upper(m[2]!));
        if (!integration || integration.kind !== 'notification') return missing('Integration', upper(m[2]!));
        pipe.errorIntegration = integration.name;
        return ok();
      },
    ],
    [
      new RegExp(`^ALTER PIPE ${N} REFRESH(?: MODIFIED_AFTER = '([^']*)')?$`, 'i'),
      (m, c) => {
        const pipe = objectOf(qualify(m[1]!, c), 'pipe');
        if (!pipe) return missing('Pipe', qualify(m[1]!, c));
        catalog.refreshes.push({ pipe: pipe.name, ...(m[2] ? { modifiedAfter: m[2] } : {}) });
        return row(['File', 'Status'], []);
      },
    ],
    [
      /^SELECT (SYSTEM\$VALIDATE_STORAGE_INTEGRATION\('(\w+)', '([^']*)', '([^']*)', '(read|write|list|delete|all)'\))$/i,
      (m) => {
        const integration = catalog.integrations.get(upper(m[2]!));
        if (!integration || integration.kind !== 'storage') return missing('Integration', upper(m[2]!));
        const allowed = (integration.options.STORAGE_ALLOWED_LOCATIONS ?? '').split(',');
        if (!allowed.some((location) => m[3]!.startsWith(location)))
          return {
            error: { code: '003150', sqlState: '22000', message: `URL '${m[3]}' is not allowed by integration ${integration.name}` },
          };
        const failing = catalog.validationFailures > 0;
        if (failing) catalog.validationFailures -= 1;
        catalog.validations.push({ integration: integration.name, url: m[3]!, status: failing ? 'failure' : 'success' });
        const action = upper(m[5]!);
        const result = failing
          ? {
              status: 'failure',
              actions: { [action]: { status: 'failure', message: `Access Denied (Status Code: 403; Error Code: AccessDenied)` } },
            }
          : { status: 'success', actions: { [action]: { status: 'success' } } };
        return row([m[1]!.toUpperCase()], [{ [m[1]!.toUpperCase()]: JSON.stringify(result) }]);
      },
    ],
    [
      new RegExp(`^SHOW (PIPES|STAGES) LIKE '([^']*)' IN SCHEMA ${N}$`, 'i'),
      (m, c) => {
        const schema = upper(m[3]!.includes('.') ? m[3]! : `${c.database}.${m[3]}`);
        if (!catalog.schemas.has(schema)) return missing('Schema', schema);
        const like = likeToRegex(m[2]!);
        const kind = upper(m[1]!) === 'PIPES' ? 'pipe' : 'stage';
        const found = [...catalog.objects.values()].filter(
          (o) => o.kind === kind && schemaOf(o.name) === schema && like.test(o.name.split('.')[2]!),
        );
        const [database_name, schema_name] = schema.split('.');
        if (kind === 'stage') {
          return row(
            [
              'created_on',
              'name',
              'database_name',
              'schema_name',
              'url',
              'has_credentials',
              'has_encryption_key',
              'owner',
              'comment',
              'region',
              'type',
              'cloud',
              'storage_integration',
            ],
            found.map((o) => ({
              name: o.name.split('.')[2]!,
              database_name: database_name!,
              schema_name: schema_name!,
              url: o.url ?? '',
              owner: o.owner ?? null,
              type: 'EXTERNAL',
              cloud: 'AWS',
              region: 'us-east-1',
              storage_integration: o.integration ?? null,
            })),
          );
        }
        return row(
          [
            'created_on',
            'name',
            'database_name',
            'schema_name',
            'definition',
            'owner',
            'notification_channel',
            'comment',
            'integration',
            'pattern',
            'error_integration',
            'invalid_reason',
            'kind',
          ],
          found.map((o) => ({
            name: o.name.split('.')[2]!,
            database_name: database_name!,
            schema_name: schema_name!,
            definition: o.definition!,
            owner: o.owner ?? null,
            notification_channel: o.streaming ? null : catalog.queueArn,
            error_integration: o.errorIntegration ?? null,
            kind: 'STAGE',
          })),
        );
      },
    ],
    [
      /^DROP (PIPE|ALERT|VIEW|DYNAMIC TABLE|STAGE|FILE FORMAT|TABLE) IF EXISTS ([\w$.]+)$/i,
      (m, c) => {
        const fqn = qualify(m[2]!, c);
        if (objectOf(fqn, upper(m[1]!).toLowerCase() as CatalogObject['kind'])) {
          catalog.objects.delete(fqn);
          catalog.rows.delete(fqn);
        }
        return ok();
      },
    ],
    [
      /^DROP INTEGRATION IF EXISTS (\w+)$/i,
      (m) => {
        catalog.integrations.delete(upper(m[1]!));
        return ok();
      },
    ],
    [
      /^DROP ROLE IF EXISTS (\w+)$/i,
      (m) => {
        catalog.roles.delete(upper(m[1]!));
        return ok();
      },
    ],
    [
      new RegExp(`^SELECT ([\\w, ]+) FROM ${N}(?: ORDER BY [\\w, ]+)?$`, 'i'),
      (m, c) => {
        const fqn = qualify(m[2]!, c);
        if (!objectOf(fqn, 'table')) return missing('Table', fqn);
        const columns = m[1]!.split(',').map((col) => upper(col.trim()));
        return row(columns, catalog.rows.get(fqn) ?? []);
      },
    ],
    [
      new RegExp(`^INSERT INTO ${N} \\(([\\w, ]+)\\) VALUES \\(([?, ]+)\\)$`, 'i'),
      (m, c) => {
        const fqn = qualify(m[1]!, c);
        const table = objectOf(fqn, 'table');
        if (!table) return missing('Table', fqn);
        const columns = m[2]!.split(',').map((col) => upper(col.trim()));
        const bindings = c.bindings ?? {};
        if (Object.keys(bindings).length !== columns.length)
          return {
            error: {
              code: '002049',
              sqlState: '22000',
              message: `Bind variable count ${Object.keys(bindings).length} does not match ${columns.length}`,
            },
          };
        const inserted: Record<string, string | null> = Object.fromEntries(
          columns.map((col, i) => [col, bindings[String(i + 1)]?.value ?? null]),
        );
        inserted.INSTALLED_BY = inserted.INSTALLED_BY ?? 'SNOWGATE_DEPLOY';
        inserted.INSTALLED_ON = inserted.INSTALLED_ON ?? new Date().toISOString();
        catalog.rows.set(fqn, [...(catalog.rows.get(fqn) ?? []), inserted]);
        return { columns: ['number of rows inserted'], rows: [['1']] };
      },
    ],
  ];

  const handle = (sql: string, context: StatementContext): FakeOutcome => {
    const text = normalize(sql);
    const fault = faults.find((f) => f.pattern.test(text));
    if (fault) {
      fault.times -= 1;
      if (fault.times <= 0) faults.splice(faults.indexOf(fault), 1);
      return { error: fault.error };
    }
    for (const [pattern, apply] of rules) {
      const m = pattern.exec(text);
      if (!m) continue;
      const outcome = apply(m, context, sql);
      if (!('error' in outcome)) catalog.statements.push({ sql, context });
      return outcome;
    }
    const word = text.split(/\s+/)[0] ?? '';
    return {
      error: {
        code: '001003',
        sqlState: '42000',
        message: `SQL compilation error:\nsyntax error line 1 at position 0 unexpected '${word}'.`,
      },
    };
  };
  // The fake hands a handler the match and the context; the statement itself is the match's input.
  catalog.handler = { match: /^[\s\S]+$/, result: (m, context) => handle(m.input ?? m[0], context) };
  return catalog;
}

export interface FakeAccount {
  fake: FakeSnowflake;
  catalog: Catalog;
  /** The deploying user's key pair, registered to `user`. */
  privateKey: string;
  publicKey: KeyObject;
  account: string;
  user: string;
}

/** A fake SQL API with the catalog behind it, one user registered with a fresh key pair. */
export async function startFakeSnowflakeAccount(
  options: { account?: string; user?: string; validationFailures?: number; handlers?: FakeHandler[] } = {},
): Promise<FakeAccount> {
  const account = options.account ?? 'MYORG-MYACCOUNT';
  const user = options.user ?? 'SNOWGATE_DEPLOY';
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const catalog = fakeSnowflakeCatalog({ validationFailures: options.validationFailures });
  const fake = await startFakeSnowflake({
    account,
    users: { [user]: publicKey },
    handlers: [...(options.handlers ?? []), catalog.handler],
  });
  return { fake, catalog, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey, account, user };
}
