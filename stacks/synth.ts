import type { StageConfig } from '@snowgate/config';
import { Aspects, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { App, getStack } from 'sst/constructs';
import { initProject } from 'sst/project.js';
import { configureStage } from './config';
import { Alarms, Delivery, Ingest, Snowflake, Storage, Stream, snowgate } from './index';

export const STACKS = { Storage, Stream, Ingest, Delivery, Snowflake, Alarms } as const;
export type StackName = keyof typeof STACKS;

export interface Synthesized {
  stacks: Record<StackName, Stack>;
  templates: Record<StackName, Template>;
  /** cdk-nag AwsSolutions findings left unsuppressed, per stack: errors must be none. */
  nagErrors: Record<StackName, string[]>;
  nagWarnings: Record<StackName, string[]>;
  /** The cloud assembly's directory: the bundled functions are its `asset.<hash>` folders. */
  assemblyDir: string;
}

/**
 * Synthesizes the whole app in process, offline (no AWS credentials), with
 * cdk-nag's AwsSolutions checks applied, exactly as `sst deploy` would build it.
 */
export async function synthesize(stage: string, config?: StageConfig): Promise<Synthesized> {
  await initProject({ stage, root: process.cwd() });
  const app = new App({ mode: 'deploy', name: 'snowgate', stage, region: 'us-east-1', account: '123456789012' } as ConstructorParameters<
    typeof App
  >[0]);
  if (config) configureStage(app, config);
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  snowgate(app);
  // What `sst deploy` does before synthesizing: bundle each function, apply removal policies, tags and SSM
  // parameters. NODE_ENV=test only skips SST's bootstrap lookup (it needs AWS credentials), which adds
  // nothing but a sourcemap uploader.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'test';
  try {
    await app.finish();
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  const names = Object.keys(STACKS) as StackName[];
  const stacks = Object.fromEntries(names.map((n) => [n, getStack(STACKS[n])])) as unknown as Record<StackName, Stack>;
  // One synthesis for everything: SST's construct-id check (an aspect) refuses to run twice on one app.
  const assembly = app.synth();
  const artifact = (n: StackName) => assembly.getStackArtifact(stacks[n].artifactId);
  const templates = Object.fromEntries(names.map((n) => [n, Template.fromJSON(artifact(n).template)])) as Record<StackName, Template>;
  const findings = (level: 'error' | 'warning', n: StackName) =>
    artifact(n)
      .messages.filter((m) => m.level === level && /AwsSolutions-/.test(String(m.entry.data)))
      .map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
  return {
    stacks,
    templates,
    nagErrors: Object.fromEntries(names.map((n) => [n, findings('error', n)])) as Record<StackName, string[]>,
    nagWarnings: Object.fromEntries(names.map((n) => [n, findings('warning', n)])) as Record<StackName, string[]>,
    assemblyDir: assembly.directory,
  };
}
