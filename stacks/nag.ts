import { Stack } from 'aws-cdk-lib';
import { NagSuppressions, type NagPackSuppression } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { App } from 'sst/constructs';

/** A suppression of an IAM5 finding for the objects under one key prefix (`arn:…:bucket/prefix/*`). */
export function objectsUnderPrefix(prefix: string, reason: string): NagPackSuppression {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return { id: 'AwsSolutions-IAM5', reason, appliesTo: [{ regex: `/^Resource::.*\\/${escaped}\\*$/g` }] };
}

export const BASIC_EXECUTION: NagPackSuppression = {
  id: 'AwsSolutions-IAM4',
  reason: 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs',
  appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
};

/**
 * Suppressions for the helper Lambdas that SST and CDK add to every stack
 * (SST's stack-metadata custom resource, CDK's log-retention and bucket-notification
 * singletons): we do not write them, choose their runtime or their policies.
 */
export function suppressNagFindings(app: App): void {
  for (const stack of app.node.children.filter((c): c is Stack => c instanceof Stack)) {
    for (const child of stack.node.children) {
      const id = child.node.id;
      if (id === 'CustomResourceHandler' || id.startsWith('LogRetention') || id.startsWith('BucketNotificationsHandler')) {
        suppress(child, [
          { ...BASIC_EXECUTION, reason: `${id} is a helper Lambda added by SST/CDK; its managed policy only writes its logs` },
          { id: 'AwsSolutions-L1', reason: `${id} is a helper Lambda added by SST/CDK, which set its runtime` },
          {
            id: 'AwsSolutions-IAM5',
            reason: `${id} is a helper Lambda added by SST/CDK: log retention and bucket notifications act on resources named at deploy time`,
            appliesTo: ['Resource::*'],
          },
        ]);
      }
    }
  }
}

export function suppress(construct: IConstruct, suppressions: NagPackSuppression[]): void {
  NagSuppressions.addResourceSuppressions(construct, suppressions, true);
}
