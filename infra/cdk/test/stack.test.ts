// Assertions on the CDK stack's template (run: npm test, or node --test
// dist/test/ after tsc). infra/tests/test_templates.py also checks that it is
// the same stack as the SAM template.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RdsLogShipperStack } from '../lib/stack';

function codeDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  fs.writeFileSync(path.join(dir, 'bootstrap'), '');
  return dir;
}

const template = Template.fromStack(
  new RdsLogShipperStack(new App(), 'Test', {
    listerCodeDir: codeDir('lister'),
    workerCodeDir: codeDir('worker'),
  }),
);

test('each function has its own role and runs the OS-only runtime on the chosen architecture', () => {
  template.resourceCountIs('AWS::Lambda::Function', 2);
  template.resourceCountIs('AWS::IAM::Role', 2);
  for (const [fn, role] of [
    ['ListerFunction', 'ListerRole'],
    ['WorkerFunction', 'WorkerRole'],
  ]) {
    const props = template.toJSON().Resources[fn].Properties;
    assert.deepEqual(props.Role, { 'Fn::GetAtt': [role, 'Arn'] });
    assert.equal(props.Runtime, 'provided.al2023');
    assert.equal(props.Handler, 'bootstrap');
    assert.deepEqual(props.Architectures, [{ Ref: 'Architecture' }]);
  }
  template.hasParameter('Architecture', { Default: 'arm64' });
});

test('the worker reads the work queue with partial batch responses', () => {
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: { 'Fn::GetAtt': ['WorkQueue', 'Arn'] },
    FunctionName: { Ref: 'WorkerFunction' },
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    BatchSize: { Ref: 'BatchSize' },
    ScalingConfig: { MaximumConcurrency: { Ref: 'MaxConcurrency' } },
  });
});

test('the work queue redrives to the DLQ and stays invisible six worker timeouts', () => {
  template.hasResourceProperties('AWS::SQS::Queue', {
    VisibilityTimeout: {
      'Fn::FindInMap': ['WorkerTimeouts', { Ref: 'WorkerTimeout' }, 'VisibilityTimeout'],
    },
    RedrivePolicy: {
      deadLetterTargetArn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] },
      maxReceiveCount: { Ref: 'MaxReceiveCount' },
    },
    SqsManagedSseEnabled: true,
  });
  template.hasMapping('WorkerTimeouts', { '900': { VisibilityTimeout: 5400 } });
});

test('the state table is on demand with TTL and point-in-time recovery', () => {
  template.hasResource('AWS::DynamoDB::Table', {
    DeletionPolicy: 'Retain',
    Properties: Match.objectLike({
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    }),
  });
});

test('a created bucket is private, TLS only and aborts incomplete uploads', () => {
  template.hasResource('AWS::S3::Bucket', {
    Condition: 'CreateBucket',
    Properties: Match.objectLike({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
        ]),
      },
    }),
  });
  template.hasResourceProperties('AWS::S3::BucketPolicy', {
    PolicyDocument: {
      Statement: [
        Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ],
    },
  });
});

test('the worker may write only under the prefix', () => {
  const worker = template.toJSON().Resources.WorkerRole.Properties.Policies[0].PolicyDocument;
  const write = worker.Statement.find((s: { Sid: string }) => s.Sid === 'WriteUnderPrefix');
  assert.deepEqual(write.Action, ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload']);
  assert.match(write.Resource['Fn::Sub'][0], /\$\{Bucket\}\/\$\{Prefix\}\/\*$/);
});

test('alarms on the DLQ, lister errors, lost files and listing age, and a dashboard', () => {
  template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['DeadLetterQueue', 'QueueName'] } }],
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    Namespace: 'AWS/Lambda',
    MetricName: 'Errors',
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'OldestListingAgeSeconds',
    Threshold: { Ref: 'ListingAgeAlarmSeconds' },
  });
  const body = template.toJSON().Resources.Dashboard.Properties.DashboardBody['Fn::Sub'][0];
  for (const metric of [
    'LogFileShipped',
    'LogBytesShipped',
    'LogFileFailed',
    'ShipLagSeconds',
    'LogFileLost',
    'OldestListingAgeSeconds',
    'InstancesNotReached',
  ]) {
    assert.ok(body.includes(`"${metric}"`), metric);
  }
});

test('an Athena table over the default key layout, and outputs for rdslogs --stack', () => {
  const json = template.toJSON();
  for (const id of ['LogDatabase', 'LogTable']) {
    assert.equal(json.Resources[id].Condition, 'DefaultKeyLayout');
  }
  assert.deepEqual(json.Conditions.DefaultKeyLayout, {
    'Fn::Equals': [{ Ref: 'KeyTemplate' }, json.Parameters.KeyTemplate.Default],
  });
  const table = json.Resources.LogTable.Properties.TableInput;
  assert.equal(table.Parameters['projection.instance.type'], 'injected');
  assert.equal(table.Parameters['projection.date.format'], 'yyyy-MM-dd');
  assert.match(
    table.Parameters['storage.location.template']['Fn::Sub'][0],
    /\/\$\{Prefix\}\/instance=\$\{!instance\}\/date=\$\{!date\}\/$/,
  );
  for (const [output, variable] of [
    ['KeyPrefix', 'RDSLOGS_PREFIX'],
    ['KeyLayout', 'RDSLOGS_KEY_TEMPLATE'],
    ['ObjectCompression', 'RDSLOGS_COMPRESSION'],
  ]) {
    assert.ok(json.Outputs[output].Description.includes(`(${variable})`), output);
  }
});

test('Object Lock only on a bucket the stack creates, with versioning', () => {
  const bucket = template.toJSON().Resources.LogBucket.Properties;
  assert.deepEqual(bucket.ObjectLockEnabled, {
    'Fn::If': ['LockObjects', true, { Ref: 'AWS::NoValue' }],
  });
  assert.deepEqual(bucket.VersioningConfiguration, {
    'Fn::If': ['LockObjects', { Status: 'Enabled' }, { Ref: 'AWS::NoValue' }],
  });
  template.hasParameter('ObjectLockMode', { Default: 'none' });
});
