import type { StageConfig } from '@snowgate/core';
import { Aspects, type Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { App, getStack } from 'sst/constructs';
import { useDeferredTasks } from 'sst/constructs/deferred_task.js';
import { initProject } from 'sst/project.js';
import { configureStage } from './config';
import { Alarms, Ingest, Snowflake, Storage, Stream, snowgate } from './index';

export const STACKS = { Storage, Stream, Ingest, Snowflake, Alarms } as const;
export type StackName = keyof typeof STACKS;

export interface Synthesized {
  stacks: Record<StackName, Stack>;
  templates: Record<StackName, Template>;
  /** cdk-nag AwsSolutions findings left unsuppressed, per stack: errors must be none. */
  nagErrors: Record<StackName, string[]>;
  nagWarnings: Record<StackName, string[]>;
}

/**
 * Synthesizes the whole app in process, offline (no AWS credentials), with
 * cdk-nag's AwsSolutions checks applied, exactly as `sst deploy` would build it.
 */
export async function synthesize(stage: string, config?: StageConfig): Promise<Synthesized> {
  await initProject({ stage, root: process.cwd() });
  const app = new App({ mode: 'deploy', name: 'snowgate', stage, region: 'us-east-1', account: '123456789012' } as ConstructorParameters<typeof App>[0]);
  if (config) configureStage(app, config);
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  snowgate(app);
  // What `sst deploy` does before synthesizing: bundle each function with esbuild and set its real code and runtime.
  await useDeferredTasks().run();
  const names = Object.keys(STACKS) as StackName[];
  const stacks = Object.fromEntries(names.map((n) => [n, getStack(STACKS[n])])) as unknown as Record<StackName, Stack>;
  const templates = Object.fromEntries(names.map((n) => [n, Template.fromStack(stacks[n])])) as Record<StackName, Template>;
  const findings = (level: 'findError' | 'findWarning', n: StackName) =>
    Annotations.fromStack(stacks[n])
      [level]('*', Match.stringLikeRegexp('AwsSolutions-.*'))
      .map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
  return {
    stacks,
    templates,
    nagErrors: Object.fromEntries(names.map((n) => [n, findings('findError', n)])) as Record<StackName, string[]>,
    nagWarnings: Object.fromEntries(names.map((n) => [n, findings('findWarning', n)])) as Record<StackName, string[]>,
  };
}
