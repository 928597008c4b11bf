// The stack's parameters, the same as infra/template.yaml's (names, types,
// defaults, allowed values), so both tools take the same settings. The
// environment variable each one sets is in its description.

import { CfnParameter, CfnParameterProps, Stack } from 'aws-cdk-lib';

/** RDSLOGS_KEY_TEMPLATE's default (shipper/src/layout.rs `DEFAULT_TEMPLATE`). */
export const DEFAULT_KEY_TEMPLATE = '{prefix}/instance={instance}/date={date}/{file}';

const list = (description: string): CfnParameterProps => ({
  type: 'CommaDelimitedList',
  default: '',
  description,
});

const specs = {
  Instances: list('DB instance identifiers to ship (RDSLOGS_INSTANCES).'),
  Clusters: list(
    'Aurora cluster identifiers whose member instances are shipped (RDSLOGS_CLUSTERS).',
  ),
  AllInstances: {
    type: 'String',
    default: 'false',
    allowedValues: ['true', 'false'],
    description: 'Ship every instance in the regions (RDSLOGS_ALL_INSTANCES).',
  },
  Engines: list(
    'Only instances of these engines, e.g. postgres,aurora-mysql (RDSLOGS_ENGINES); alone it means all instances of these engines.',
  ),
  Tags: list(
    'Only instances carrying all these key=value tags (RDSLOGS_TAGS); alone it means all instances with them.',
  ),
  Regions: list("Regions to list (RDSLOGS_REGIONS); empty means the stack's own region."),
  IncludeFiles: list('Glob patterns of log file names to ship (RDSLOGS_INCLUDE); empty means all.'),
  ExcludeFiles: list('Glob patterns of log file names never to ship (RDSLOGS_EXCLUDE).'),
  BucketName: {
    type: 'String',
    default: '',
    allowedPattern: '^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
    description:
      'An existing bucket to ship into; empty creates one (encrypted, private, TLS only).',
  },
  BucketKmsKeyArn: {
    type: 'String',
    default: '',
    allowedPattern: '^$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$',
    description:
      'ARN of the KMS key (not an alias) the bucket encrypts with (SSE-KMS); the worker may use it. ' +
      'A bucket this stack creates then defaults to SSE-KMS with this key and S3 Bucket Keys. Empty means SSE-S3.',
  },
  Prefix: {
    type: 'String',
    default: 'rds-logs',
    allowedPattern: "^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$",
    description: 'Key prefix (RDSLOGS_PREFIX); the worker may write only under <prefix>/.',
  },
  KeyTemplate: {
    type: 'String',
    default: DEFAULT_KEY_TEMPLATE,
    allowedPattern: '^\\{prefix\\}/.+',
    description:
      'Object key layout (RDSLOGS_KEY_TEMPLATE); must start with {prefix}/, the only place the worker may write.',
  },
  Compression: {
    type: 'String',
    default: 'none',
    allowedValues: ['none', 'gzip', 'zstd'],
    description: 'Compression of shipped objects (RDSLOGS_COMPRESSION).',
  },
  ArchiveAfterDays: {
    type: 'Number',
    default: 0,
    minValue: 0,
    description:
      'Move shipped logs to ArchiveStorageClass after this many days; 0 keeps them in S3 Standard. Applies to a bucket this stack creates.',
  },
  ArchiveStorageClass: {
    type: 'String',
    default: 'GLACIER',
    allowedValues: ['STANDARD_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE'],
    description: 'Storage class of the archive transition.',
  },
  ObjectLockMode: {
    type: 'String',
    default: 'none',
    allowedValues: ['none', 'GOVERNANCE', 'COMPLIANCE'],
    description:
      'S3 Object Lock on a bucket this stack creates: every object version is locked for ObjectLockDays ' +
      'in this mode (COMPLIANCE: nobody can delete it, GOVERNANCE: only with s3:BypassGovernanceRetention); none: no lock. ' +
      'Once on, Object Lock cannot be turned off.',
  },
  ObjectLockDays: {
    type: 'Number',
    default: 365,
    minValue: 1,
    maxValue: 36500,
    description:
      'Days each object version stays locked (with ObjectLockMode); superseded versions expire after as many days.',
  },
  GlueDatabaseName: {
    type: 'String',
    default: '',
    allowedPattern: '^$|^[a-z0-9_]{1,255}$',
    description:
      'Glue database of the Athena table over the logs (created only with the default KeyTemplate); ' +
      'empty: the stack name with - as _. Must be unique in the account and region.',
  },
  Schedule: {
    type: 'String',
    default: 'rate(5 minutes)',
    allowedPattern: '^(rate|cron)\\(.+\\)$',
    description: 'When the lister runs, an EventBridge rate() or cron() expression.',
  },
  RdsRate: {
    type: 'Number',
    default: 10,
    minValue: 1,
    maxValue: 100,
    description: 'RDS describe calls per second per region (RDSLOGS_RDS_RATE).',
  },
  ListerConcurrency: {
    type: 'Number',
    default: 8,
    minValue: 1,
    maxValue: 64,
    description: 'Instances the lister lists at once (RDSLOGS_LISTER_CONCURRENCY).',
  },
  BatchSize: {
    type: 'Number',
    default: 5,
    minValue: 1,
    maxValue: 10,
    description: 'Log files per worker invocation (SQS batch size).',
  },
  MaxConcurrency: {
    type: 'Number',
    default: 10,
    minValue: 2,
    maxValue: 1000,
    description: "Most worker invocations at once (the SQS event source's maximum concurrency).",
  },
  WorkerTimeout: {
    // A String so that it can key the WorkerTimeouts mapping everywhere.
    type: 'String',
    default: '900',
    allowedValues: ['60', '120', '300', '600', '900'],
    description: "Worker timeout in seconds; the queue's visibility timeout is six times this.",
  },
  WorkerMemory: {
    type: 'Number',
    default: 512,
    minValue: 128,
    maxValue: 10240,
    description:
      'Worker memory in MB (about 50 MB is used; more memory buys CPU and network).',
  },
  MaxReceiveCount: {
    type: 'Number',
    default: 5,
    minValue: 1,
    maxValue: 1000,
    description: 'Deliveries of a work message before it moves to the dead-letter queue.',
  },
  Architecture: {
    type: 'String',
    default: 'arm64',
    allowedValues: ['arm64', 'x86_64'],
    description:
      'CPU architecture of the functions; must match the build (scripts/build-lambdas.sh).',
  },
  AlarmTopicArn: {
    type: 'String',
    default: '',
    allowedPattern: '^$|^arn:[a-z-]+:sns:.+',
    description: 'SNS topic the alarms notify; empty means alarms without notification.',
  },
  ListingAgeAlarmSeconds: {
    type: 'Number',
    default: 64800,
    minValue: 600,
    description:
      'Alarm when an instance in scope was last listed this long ago (the fleet outgrows one cycle); the default is three quarters of the shortest retention (24 h, MySQL and MariaDB).',
  },
  MetricsNamespace: {
    type: 'String',
    default: 'RdsLogShipper',
    description: "CloudWatch namespace of the functions' metrics (RDSLOGS_METRICS_NAMESPACE).",
  },
  LogRetentionDays: {
    type: 'Number',
    // A string like the allowed values, which CDK takes as strings only.
    default: '30',
    allowedValues: [
      1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
      2922, 3288, 3653,
    ].map(String),
    description: "Days the functions' log groups keep their logs.",
  },
} satisfies Record<string, CfnParameterProps>;

const groups: [string, (keyof typeof specs)[]][] = [
  [
    'Which instances and files',
    ['Instances', 'Clusters', 'AllInstances', 'Engines', 'Tags', 'Regions', 'IncludeFiles', 'ExcludeFiles'],
  ],
  [
    'Where the logs go',
    [
      'BucketName',
      'BucketKmsKeyArn',
      'Prefix',
      'KeyTemplate',
      'Compression',
      'ArchiveAfterDays',
      'ArchiveStorageClass',
    ],
  ],
  ['Write-once storage', ['ObjectLockMode', 'ObjectLockDays']],
  ['Querying with Athena', ['GlueDatabaseName']],
  [
    'Schedule and throughput',
    [
      'Schedule',
      'RdsRate',
      'ListerConcurrency',
      'BatchSize',
      'MaxConcurrency',
      'WorkerTimeout',
      'WorkerMemory',
      'MaxReceiveCount',
      'Architecture',
    ],
  ],
  ['Monitoring', ['AlarmTopicArn', 'ListingAgeAlarmSeconds', 'MetricsNamespace', 'LogRetentionDays']],
];

export type Parameters = Record<keyof typeof specs, CfnParameter>;

/** Adds every parameter to the stack, grouped for the console. */
export function defineParameters(stack: Stack): Parameters {
  stack.templateOptions.metadata = {
    'AWS::CloudFormation::Interface': {
      ParameterGroups: groups.map(([label, names]) => ({
        Label: { default: label },
        Parameters: names,
      })),
    },
  };
  return Object.fromEntries(
    Object.entries(specs).map(([name, props]) => [name, new CfnParameter(stack, name, props)]),
  ) as Parameters;
}
