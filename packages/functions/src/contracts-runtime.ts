import { ConfigError, contractsFromValidators, type Contracts, type ValidatorMap } from '@snowgate/core';
import type { IngestSettings } from '@snowgate/config';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Written by synth beside the schemas in the function's bundle (stacks/contracts.ts). */
export const VALIDATORS_FILE = 'validators.mjs';

/**
 * The Lambda's contracts: the standalone validators that synth generated from
 * `schemas/` (no Ajv at run time, nothing compiled at cold start); `undefined`
 * when contracts are off. A missing or broken file fails the cold start loudly.
 */
export async function loadCompiledContracts(settings: Pick<IngestSettings, 'contracts' | 'schemasDir'>): Promise<Contracts | undefined> {
  if (settings.contracts.mode === 'off') return undefined;
  const file = resolve(settings.schemasDir ?? 'schemas', VALIDATORS_FILE);
  if (!existsSync(file))
    throw new ConfigError(
      `contracts mode is "${settings.contracts.mode}" but ${file} is missing: deploy with contracts on, so that synth writes it`,
    );
  const module = (await import(pathToFileURL(file).href)) as { validators?: ValidatorMap; detailed?: ValidatorMap };
  if (!module.validators || !module.detailed)
    throw new ConfigError(`${file} exports no validators: redeploy, so that synth writes it again`);
  return contractsFromValidators({ validators: module.validators, detailed: module.detailed }, settings.contracts);
}
