/**
 * Writes the CloudFormation templates that `sst deploy --stage <stage>` would
 * deploy, without AWS credentials, and checks them with cdk-nag.
 *
 *   pnpm synth                       # stage "dev", into cdk.out/dev
 *   pnpm synth --stage prod --out /tmp/prod
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { synthesize } from '../stacks/synth';

const { values } = parseArgs({ options: { stage: { type: 'string', default: 'dev' }, out: { type: 'string' } } });
const stage = values.stage!;
const out = resolve(values.out ?? `cdk.out/${stage}`);
mkdirSync(out, { recursive: true });

const result = await synthesize(stage);
let errors = 0;
for (const [name, template] of Object.entries(result.templates)) {
  const file = resolve(out, `${result.stacks[name as keyof typeof result.stacks].stackName}.template.json`);
  writeFileSync(file, JSON.stringify(template.toJSON(), null, 2));
  const resources = Object.keys(template.toJSON().Resources ?? {}).length;
  const nag = result.nagErrors[name as keyof typeof result.nagErrors];
  errors += nag.length;
  console.log(`${name.padEnd(10)} ${String(resources).padStart(3)} resources  ${file}`);
  for (const e of nag) console.log(`  cdk-nag error: ${e}`);
}
writeFileSync(resolve(out, 'cdk-nag.json'), JSON.stringify({ errors: result.nagErrors, warnings: result.nagWarnings }, null, 2));
console.log(`\nTemplates for stage "${stage}" are in ${out}`);
console.log(errors === 0 ? 'cdk-nag AwsSolutions: no unsuppressed errors' : `cdk-nag AwsSolutions: ${errors} unsuppressed error(s)`);
process.exit(errors === 0 ? 0 : 1);
