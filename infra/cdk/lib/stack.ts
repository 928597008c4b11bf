// The rds-log-shipper stack in CDK: the same parameters, resources and
// logical IDs as infra/template.yaml (the SAM template after its transform),
// so `cdk deploy --parameters Name=value` and `sam deploy
// --parameter-overrides Name=value` take the same settings and build the same
// stack. infra/tests/test_templates.py compares the two synthesized templates.
//
// The resources are the CloudFormation (L1) constructs because every one of
// them depends on template parameters and conditions, which the higher-level
// constructs resolve at synth time.

import {
  Aws,
  CfnCondition,
  CfnMapping,
  CfnOutput,
  CfnResource,
  CfnRule,
  Fn,
  Stack,
  StackProps,
  Token,
  Validations,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { dashboardBody } from './dashboard';
import { DEFAULT_KEY_TEMPLATE, defineParameters } from './parameters';

const GLUE_TABLE = 'logs';

export interface RdsLogShipperProps extends StackProps {
  /** Folders holding each function's `bootstrap` (cargo lambda build output). */
  readonly listerCodeDir: string;
  readonly workerCodeDir: string;
}

export class RdsLogShipperStack extends Stack {
  constructor(scope: Construct, id: string, props: RdsLogShipperProps) {
    super(scope, id, props);
    this.templateOptions.description =
      'rds-log-shipper: ships Amazon RDS and Aurora log files to S3 byte for byte. ' +
      'A scheduled lister Lambda enqueues new or changed log file versions; a worker ' +
      'Lambda streams each one into S3. The CDK app in infra/cdk defines the same stack.';
    const p = defineParameters(this);
    const str = (name: keyof typeof p) => p[name].valueAsString;
    const joined = (name: keyof typeof p) => Fn.join(',', p[name].valueAsList);

    new CfnRule(this, 'SomeInstancesSelected', {
      assertions: [
        {
          assert: Fn.conditionNot(
            // An empty list parameter is the list [""].
            Fn.conditionAnd(
              Fn.conditionEachMemberEquals(p.Instances.valueAsList, ''),
              Fn.conditionEachMemberEquals(p.Clusters.valueAsList, ''),
              Fn.conditionEachMemberEquals(p.Engines.valueAsList, ''),
              Fn.conditionEachMemberEquals(p.Tags.valueAsList, ''),
              Fn.conditionEquals(str('AllInstances'), 'false'),
            ),
          ),
          assertDescription:
            'Select instances with Instances, Clusters, Engines, Tags or AllInstances=true.',
        },
      ],
    });
    new CfnRule(this, 'ObjectLockNeedsACreatedBucket', {
      assertions: [
        {
          assert: Fn.conditionOr(
            Fn.conditionEquals(str('ObjectLockMode'), 'none'),
            Fn.conditionEquals(str('BucketName'), ''),
          ),
          assertDescription:
            'ObjectLockMode applies to a bucket this stack creates; turn Object Lock on for your own bucket yourself (BucketName).',
        },
      ],
    });

    // The queue's visibility timeout is six times the worker's timeout, as AWS
    // advises for Lambda event sources; CloudFormation cannot multiply.
    const timeouts = new CfnMapping(this, 'WorkerTimeouts', {
      mapping: Object.fromEntries(
        [60, 120, 300, 600, 900].map((t) => [String(t), { VisibilityTimeout: 6 * t }]),
      ),
    });

    const createBucket = new CfnCondition(this, 'CreateBucket', {
      expression: Fn.conditionEquals(str('BucketName'), ''),
    });
    const archiveLogs = new CfnCondition(this, 'ArchiveLogs', {
      expression: Fn.conditionNot(Fn.conditionEquals(str('ArchiveAfterDays'), '0')),
    });
    const notifyAlarms = new CfnCondition(this, 'NotifyAlarms', {
      expression: Fn.conditionNot(Fn.conditionEquals(str('AlarmTopicArn'), '')),
    });
    const useBucketKmsKey = new CfnCondition(this, 'UseBucketKmsKey', {
      expression: Fn.conditionNot(Fn.conditionEquals(str('BucketKmsKeyArn'), '')),
    });
    const lockObjects = new CfnCondition(this, 'LockObjects', {
      expression: Fn.conditionAnd(
        createBucket,
        Fn.conditionNot(Fn.conditionEquals(str('ObjectLockMode'), 'none')),
      ),
    });
    // The table's partition locations follow the default key layout only; a
    // KeyTemplate of one's own gets no table (docs/query.md).
    const defaultKeyLayout = new CfnCondition(this, 'DefaultKeyLayout', {
      expression: Fn.conditionEquals(str('KeyTemplate'), DEFAULT_KEY_TEMPLATE),
    });
    const nameGlueDatabase = new CfnCondition(this, 'NameGlueDatabase', {
      expression: Fn.conditionNot(Fn.conditionEquals(str('GlueDatabaseName'), '')),
    });

    // ---- storage ----
    const bucket = new s3.CfnBucket(this, 'LogBucket', {
      // The worker sends no encryption headers: this default applies.
      bucketEncryption: {
        serverSideEncryptionConfiguration: [
          Fn.conditionIf(
            useBucketKmsKey.logicalId,
            {
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: str('BucketKmsKeyArn'),
              },
              BucketKeyEnabled: true,
            },
            { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
          ),
        ],
      },
      publicAccessBlockConfiguration: {
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      ownershipControls: { rules: [{ objectOwnership: 'BucketOwnerEnforced' }] },
      // Write-once: every object version is locked for ObjectLockDays by the
      // bucket's default retention. The worker sends no retention headers, so
      // it needs no s3:PutObjectRetention. Object Lock requires versioning.
      objectLockEnabled: Token.asAny(Fn.conditionIf(lockObjects.logicalId, true, Aws.NO_VALUE)),
      objectLockConfiguration: Fn.conditionIf(
        lockObjects.logicalId,
        {
          ObjectLockEnabled: 'Enabled',
          Rule: {
            DefaultRetention: { Mode: str('ObjectLockMode'), Days: str('ObjectLockDays') },
          },
        },
        Aws.NO_VALUE,
      ),
      versioningConfiguration: Fn.conditionIf(
        lockObjects.logicalId,
        { Status: 'Enabled' },
        Aws.NO_VALUE,
      ),
      lifecycleConfiguration: {
        rules: [
          {
            id: 'abort-incomplete-multipart-uploads',
            status: 'Enabled',
            abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
          },
          Fn.conditionIf(
            archiveLogs.logicalId,
            {
              Id: 'archive-shipped-logs',
              Status: 'Enabled',
              Prefix: Fn.sub('${Prefix}/'),
              Transitions: [
                { StorageClass: str('ArchiveStorageClass'), TransitionInDays: str('ArchiveAfterDays') },
              ],
            },
            Aws.NO_VALUE,
          ),
          // Under versioning, each time a growing log file is shipped again its
          // object is overwritten and the shorter content becomes a noncurrent
          // version. The worker only overwrites an object with content that
          // starts with the same bytes, so a noncurrent version holds nothing
          // the current one lacks; it is kept (locked) for the retention, then
          // expires. NoncurrentDays count from when a version was superseded,
          // which is after it was written, so no version expires before its
          // lock does.
          Fn.conditionIf(
            lockObjects.logicalId,
            {
              Id: 'expire-superseded-versions',
              Status: 'Enabled',
              Prefix: Fn.sub('${Prefix}/'),
              NoncurrentVersionExpiration: { NoncurrentDays: str('ObjectLockDays') },
            },
            Aws.NO_VALUE,
          ),
        ],
      },
    });
    retain(bucket);
    bucket.cfnOptions.condition = createBucket;

    const bucketPolicy = new s3.CfnBucketPolicy(this, 'LogBucketPolicy', {
      bucket: bucket.ref,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'DenyInsecureTransport',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: [bucket.attrArn, Fn.sub('${LogBucket.Arn}/*')],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
    });
    bucketPolicy.cfnOptions.condition = createBucket;
    const bucketName = Token.asString(
      Fn.conditionIf(createBucket.logicalId, bucket.ref, str('BucketName')),
    );
    const bucketArn = Fn.sub('arn:${AWS::Partition}:s3:::${Bucket}', { Bucket: bucketName });
    const rdsArn = (type: string) =>
      Fn.sub(`arn:\${AWS::Partition}:rds:*:\${AWS::AccountId}:${type}:*`);

    const table = new dynamodb.CfnTable(this, 'StateTable', {
      billingMode: 'PAY_PER_REQUEST',
      attributeDefinitions: [
        { attributeName: 'instance', attributeType: 'S' },
        { attributeName: 'file', attributeType: 'S' },
      ],
      keySchema: [
        { attributeName: 'instance', keyType: 'HASH' },
        { attributeName: 'file', keyType: 'RANGE' },
      ],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveSpecification: { attributeName: 'expires_at', enabled: true },
      sseSpecification: { sseEnabled: true },
    });
    retain(table);

    // ---- queues ----
    const dlq = new sqs.CfnQueue(this, 'DeadLetterQueue', {
      messageRetentionPeriod: 1209600,
      sqsManagedSseEnabled: true,
    });
    const queue = new sqs.CfnQueue(this, 'WorkQueue', {
      visibilityTimeout: Token.asNumber(
        timeouts.findInMap(str('WorkerTimeout'), 'VisibilityTimeout'),
      ),
      messageRetentionPeriod: 345600,
      sqsManagedSseEnabled: true,
      redrivePolicy: {
        deadLetterTargetArn: dlq.attrArn,
        maxReceiveCount: p.MaxReceiveCount.valueAsNumber,
      },
    });

    // ---- query ----
    // Athena reads the shipped objects where they are: one row per log line,
    // partitioned by instance and date with partition projection, so there is
    // no crawler and no partition to add (docs/query.md).
    const glueDatabaseName = Token.asString(
      Fn.conditionIf(
        nameGlueDatabase.logicalId,
        str('GlueDatabaseName'),
        Fn.join('_', Fn.split('-', Aws.STACK_NAME)),
      ),
    );
    const database = new glue.CfnDatabase(this, 'LogDatabase', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: {
        name: glueDatabaseName,
        description: "rds-log-shipper's RDS log archive, for Athena",
      },
    });
    database.cfnOptions.condition = defaultKeyLayout;
    // A false positive of the validator `cdk synth` runs: it checks the
    // GlueDatabaseName default '' against the name's minimum length, but the
    // parameter is the name only under NameGlueDatabase, false for ''.
    // cfn-lint (scripts/infra-check.sh) evaluates the condition and is quiet.
    Validations.of(database).acknowledge({
      id: 'CloudFormation-Validate::W1030',
      reason: 'GlueDatabaseName names the database only when NameGlueDatabase holds, i.e. when it is not empty',
    });
    const logTable = new glue.CfnTable(this, 'LogTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: database.ref,
      tableInput: {
        name: GLUE_TABLE,
        description: 'One row per line of every shipped RDS log file; filter on instance and date',
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          EXTERNAL: 'TRUE',
          'projection.enabled': 'true',
          // Instances come and go (tags, engines, clusters): a query names the
          // ones it reads.
          'projection.instance.type': 'injected',
          'projection.date.type': 'date',
          'projection.date.format': 'yyyy-MM-dd',
          // From before any RDS log to tomorrow (UTC), in case a log names its
          // day in a time zone ahead of UTC.
          'projection.date.range': '2000-01-01,NOW+1DAY',
          'projection.date.interval': '1',
          'projection.date.interval.unit': 'DAYS',
          // RDSLOGS_KEY_TEMPLATE's default, up to {file}.
          'storage.location.template': Fn.sub(
            's3://${Bucket}/${Prefix}/instance=${!instance}/date=${!date}/',
            { Bucket: bucketName },
          ),
        },
        partitionKeys: [
          { name: 'instance', type: 'string', comment: 'DB instance identifier' },
          { name: 'date', type: 'string', comment: 'day of the log, yyyy-MM-dd (UTC), docs/layout.md' },
        ],
        storageDescriptor: {
          location: Fn.sub('s3://${Bucket}/${Prefix}/', { Bucket: bucketName }),
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          // The whole line, whatever it holds; .gz and .zst objects are
          // decompressed by their suffix.
          serdeInfo: {
            serializationLibrary: 'org.apache.hadoop.hive.serde2.RegexSerDe',
            parameters: { 'input.regex': '(?s)(.*)' },
          },
          columns: [{ name: 'line', type: 'string', comment: 'one line of the log file' }],
        },
      },
    });
    logTable.cfnOptions.condition = defaultKeyLayout;

    // ---- functions ----
    const listerLogs = new logs.CfnLogGroup(this, 'ListerLogGroup', {
      retentionInDays: p.LogRetentionDays.valueAsNumber,
    });
    const workerLogs = new logs.CfnLogGroup(this, 'WorkerLogGroup', {
      retentionInDays: p.LogRetentionDays.valueAsNumber,
    });

    // Least privilege: exactly the calls each function's code makes
    // (infra/tests/test_policy.py derives them from the code and compares).
    const listerRole = lambdaRole(this, 'ListerRole', 'lister', [
      allow('Logs', ['logs:CreateLogStream', 'logs:PutLogEvents'], listerLogs.attrArn),
      allow(
        'ListInstancesAndLogFiles',
        ['rds:DescribeDBInstances', 'rds:DescribeDBLogFiles'],
        rdsArn('db'),
      ),
      allow('StateTable', ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], table.attrArn),
      allow('Enqueue', 'sqs:SendMessage', queue.attrArn),
      // Daily manifests (docs/manifests.md): HeadObject of each shipped
      // object, and each manifest written once (a manifest already there is
      // read back).
      allow(
        'ReadUnderPrefix',
        's3:GetObject',
        Fn.sub('arn:${AWS::Partition}:s3:::${Bucket}/${Prefix}/*', { Bucket: bucketName }),
      ),
      allow(
        'WriteManifests',
        's3:PutObject',
        Fn.sub('arn:${AWS::Partition}:s3:::${Bucket}/${Prefix}/_manifests/*', { Bucket: bucketName }),
      ),
      // As the worker's: a 404, not a 403, for a key not there.
      {
        ...allow('ListUnderPrefix', 's3:ListBucket', bucketArn),
        Condition: { StringLike: { 's3:prefix': Fn.sub('${Prefix}/*') } },
      },
      onlyIf(
        useBucketKmsKey,
        allow('UseBucketKmsKey', ['kms:GenerateDataKey', 'kms:Decrypt'], str('BucketKmsKeyArn')),
      ),
    ]);
    const workerRole = lambdaRole(this, 'WorkerRole', 'worker', [
      allow('Logs', ['logs:CreateLogStream', 'logs:PutLogEvents'], workerLogs.attrArn),
      allow(
        'ReceiveWork',
        ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        queue.attrArn,
      ),
      // IAM accepts no narrower resource for the REST download endpoint; the
      // calls are still signed by this role only.
      allow('DownloadLogFiles', 'rds:DownloadCompleteDBLogFile', '*'),
      // Which incarnation serves a download: a switchover while a message
      // waited must not ship the new instance's bytes.
      allow('CheckIncarnation', 'rds:DescribeDBInstances', rdsArn('db')),
      allow('StateTable', ['dynamodb:GetItem', 'dynamodb:UpdateItem'], table.attrArn),
      allow(
        'WriteUnderPrefix',
        ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
        Fn.sub('arn:${AWS::Partition}:s3:::${Bucket}/${Prefix}/*', { Bucket: bucketName }),
      ),
      // Without s3:ListBucket, S3 answers HeadObject of a key not yet
      // shipped with 403 instead of 404. AWS documents s3:prefix for listings
      // only; docs/deploy.md says why this condition and `rdslogs doctor`
      // checks the 404 on the real account.
      {
        ...allow('ListUnderPrefix', 's3:ListBucket', bucketArn),
        Condition: { StringLike: { 's3:prefix': Fn.sub('${Prefix}/*') } },
      },
      allow('FindStaleUploads', 's3:ListBucketMultipartUploads', bucketArn),
      // S3 calls KMS as the worker when the bucket encrypts with a KMS key;
      // only then, and only that key.
      onlyIf(
        useBucketKmsKey,
        allow('UseBucketKmsKey', ['kms:GenerateDataKey', 'kms:Decrypt'], str('BucketKmsKeyArn')),
      ),
    ]);

    // What the operator commands of rdslogs call (dlq, status, backfill,
    // snapshot, doctor), for an operator's user or role to attach. Derived from the
    // CLI's code and compared like the roles (infra/tests/test_policy.py).
    const operatorPolicy = new iam.CfnManagedPolicy(this, 'OperatorPolicy', {
      description:
        "rds-log-shipper operator commands (rdslogs dlq, status, backfill, snapshot, doctor) on this stack's resources",
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          allow(
            'StateTable',
            [
              'dynamodb:GetItem',
              'dynamodb:Query',
              'dynamodb:Scan',
              'dynamodb:UpdateItem',
              'dynamodb:DescribeTable',
              'dynamodb:DescribeTimeToLive',
            ],
            table.attrArn,
          ),
          allow(
            'DeadLetters',
            [
              'sqs:ReceiveMessage',
              'sqs:ChangeMessageVisibility',
              'sqs:DeleteMessage',
              'sqs:GetQueueAttributes',
              'sqs:PurgeQueue',
            ],
            dlq.attrArn,
          ),
          allow('Enqueue', ['sqs:SendMessage', 'sqs:GetQueueAttributes'], queue.attrArn),
          // rdslogs doctor: the bucket, a missing key's 404, one download,
          // and the functions' roles through the policy simulator; rdslogs
          // verify: every object, read back, and the versions kept of a
          // damaged one.
          allow('CheckBucket', ['s3:ListBucket', 's3:ListBucketVersions'], bucketArn),
          allow(
            'ReadUnderPrefix',
            ['s3:GetObject', 's3:GetObjectVersion'],
            Fn.sub('arn:${AWS::Partition}:s3:::${Bucket}/${Prefix}/*', { Bucket: bucketName }),
          ),
          allow('DownloadLogFiles', 'rds:DownloadCompleteDBLogFile', '*'),
          // rdslogs --stack reads the outputs; doctor, the roles.
          allow(
            'StackResources',
            ['cloudformation:DescribeStacks', 'cloudformation:DescribeStackResources'],
            Aws.STACK_ID,
          ),
          allow(
            'SimulateFunctionRoles',
            ['iam:GetRole', 'iam:SimulatePrincipalPolicy'],
            [listerRole.attrArn, workerRole.attrArn],
          ),
          allow(
            'InstancesAndLogFiles',
            ['rds:DescribeDBInstances', 'rds:DescribeDBLogFiles'],
            rdsArn('db'),
          ),
          allow(
            'Snapshots',
            [
              'rds:CreateDBSnapshot',
              'rds:DescribeDBSnapshots',
              'rds:CreateDBClusterSnapshot',
              'rds:DescribeDBClusterSnapshots',
            ],
            ['db', 'snapshot', 'cluster', 'cluster-snapshot'].map(rdsArn),
          ),
          // RDS authorizes the tags given at creation as AddTagsToResource.
          allow(
            'TagSnapshots',
            'rds:AddTagsToResource',
            ['snapshot', 'cluster-snapshot'].map(rdsArn),
          ),
        ],
      },
    });

    const lister = rustFunction(this, 'ListerFunction', {
      codeDir: props.listerCodeDir,
      description: 'rds-log-shipper lister, enqueues new or changed RDS log file versions',
      architecture: str('Architecture'),
      memorySize: 256,
      timeout: 300,
      role: listerRole,
      logGroup: listerLogs,
      environment: {
        RDSLOGS_INSTANCES: joined('Instances'),
        RDSLOGS_CLUSTERS: joined('Clusters'),
        RDSLOGS_ALL_INSTANCES: str('AllInstances'),
        RDSLOGS_ENGINES: joined('Engines'),
        RDSLOGS_TAGS: joined('Tags'),
        RDSLOGS_REGIONS: joined('Regions'),
        RDSLOGS_INCLUDE: joined('IncludeFiles'),
        RDSLOGS_EXCLUDE: joined('ExcludeFiles'),
        RDSLOGS_RDS_RATE: str('RdsRate'),
        RDSLOGS_LISTER_CONCURRENCY: str('ListerConcurrency'),
        // The worker's key layout: the lister refuses keys S3 would refuse.
        RDSLOGS_BUCKET: bucketName,
        RDSLOGS_PREFIX: str('Prefix'),
        RDSLOGS_KEY_TEMPLATE: str('KeyTemplate'),
        RDSLOGS_COMPRESSION: str('Compression'),
        RDSLOGS_STATE_TABLE: table.ref,
        RDSLOGS_QUEUE_URL: queue.ref,
        RDSLOGS_METRICS_NAMESPACE: str('MetricsNamespace'),
      },
    });
    const worker = rustFunction(this, 'WorkerFunction', {
      codeDir: props.workerCodeDir,
      description: 'rds-log-shipper worker, streams RDS log files into S3',
      architecture: str('Architecture'),
      memorySize: p.WorkerMemory.valueAsNumber,
      timeout: Token.asNumber(str('WorkerTimeout')),
      role: workerRole,
      logGroup: workerLogs,
      environment: {
        RDSLOGS_BUCKET: bucketName,
        RDSLOGS_PREFIX: str('Prefix'),
        RDSLOGS_KEY_TEMPLATE: str('KeyTemplate'),
        RDSLOGS_COMPRESSION: str('Compression'),
        RDSLOGS_STATE_TABLE: table.ref,
        RDSLOGS_STALE_UPLOAD_SECS: str('WorkerTimeout'),
        RDSLOGS_METRICS_NAMESPACE: str('MetricsNamespace'),
      },
    });

    const schedule = new events.CfnRule(this, 'ListerFunctionSchedule', {
      scheduleExpression: str('Schedule'),
      description: 'Runs one lister cycle',
      targets: [{ arn: lister.attrArn, id: 'ListerFunctionScheduleLambdaTarget' }],
    });
    new lambda.CfnPermission(this, 'ListerFunctionSchedulePermission', {
      action: 'lambda:InvokeFunction',
      functionName: lister.ref,
      principal: 'events.amazonaws.com',
      sourceArn: schedule.attrArn,
    });
    new lambda.CfnEventSourceMapping(this, 'WorkerFunctionQueue', {
      eventSourceArn: queue.attrArn,
      functionName: worker.ref,
      batchSize: p.BatchSize.valueAsNumber,
      functionResponseTypes: ['ReportBatchItemFailures'],
      scalingConfig: { maximumConcurrency: p.MaxConcurrency.valueAsNumber },
    });

    // ---- monitoring ----
    const actions = Token.asList(
      Fn.conditionIf(notifyAlarms.logicalId, [str('AlarmTopicArn')], Aws.NO_VALUE),
    );
    const alarm = (id: string, props: Partial<cloudwatch.CfnAlarmProps>) => {
      const resource = new cloudwatch.CfnAlarm(this, id, {
        statistic: 'Sum',
        period: 300,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        treatMissingData: 'notBreaching',
        alarmActions: actions,
        okActions: actions,
        ...props,
      });
      // A false positive of the validator `cdk synth` runs: it checks the
      // AlarmTopicArn default '' against the action's minimum length, but the
      // topic is only used under NotifyAlarms, which is false for ''.
      // cfn-lint (scripts/infra-check.sh) evaluates the condition and is quiet.
      Validations.of(resource).acknowledge({
        id: 'CloudFormation-Validate::W1030',
        reason: 'AlarmTopicArn is used only when NotifyAlarms holds, i.e. when it is not empty',
      });
      return resource;
    };
    alarm('DeadLetterAlarm', {
      alarmDescription: 'Work messages reached the dead-letter queue; inspect them with rdslogs dlq.',
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      dimensions: [{ name: 'QueueName', value: dlq.attrQueueName }],
      statistic: 'Maximum',
    });
    alarm('ListerErrorAlarm', {
      alarmDescription: "A lister cycle failed; see the lister's log.",
      namespace: 'AWS/Lambda',
      metricName: 'Errors',
      dimensions: [{ name: 'FunctionName', value: lister.ref }],
    });
    alarm('LostFileAlarm', {
      alarmDescription: 'RDS deleted a log file version before it was shipped.',
      namespace: str('MetricsNamespace'),
      metricName: 'LogFileLost',
    });
    alarm('ListingAgeAlarm', {
      alarmDescription:
        'An instance in scope has not been listed for a long time; the fleet outgrows one lister cycle (docs/fleet.md).',
      namespace: str('MetricsNamespace'),
      metricName: 'OldestListingAgeSeconds',
      statistic: 'Maximum',
      threshold: p.ListingAgeAlarmSeconds.valueAsNumber,
    });

    const dashboard = new cloudwatch.CfnDashboard(this, 'Dashboard', {
      dashboardBody: Fn.sub(dashboardBody, { Ns: str('MetricsNamespace') }),
    });

    const outputs: Record<string, [string | undefined, string]> = {
      LogBucketName: ['Where the logs go (RDSLOGS_BUCKET)', bucketName],
      StateTableName: ['The state table (RDSLOGS_STATE_TABLE)', table.ref],
      WorkQueueUrl: ['The work queue (RDSLOGS_QUEUE_URL)', queue.ref],
      DeadLetterQueueUrl: ['The dead-letter queue (RDSLOGS_DLQ_URL, for rdslogs dlq)', dlq.ref],
      KeyPrefix: ['The key prefix (RDSLOGS_PREFIX)', str('Prefix')],
      KeyLayout: ['The key layout (RDSLOGS_KEY_TEMPLATE)', str('KeyTemplate')],
      ObjectCompression: ["The objects' compression (RDSLOGS_COMPRESSION)", str('Compression')],
      OperatorPolicyArn: [
        "Attach to an operator's IAM user or role for rdslogs dlq, status, backfill, snapshot and doctor",
        operatorPolicy.ref,
      ],
      ListerFunctionName: [undefined, lister.ref],
      WorkerFunctionName: [undefined, worker.ref],
      DashboardName: [undefined, dashboard.ref],
    };
    for (const [id, [description, value]] of Object.entries(outputs)) {
      new CfnOutput(this, id, { description, value });
    }
    // The name given to LogDatabase (Glue stores it in lowercase; Athena
    // ignores case), and LogTable's name, as the stack gives them.
    new CfnOutput(this, 'AthenaDatabase', {
      condition: defaultKeyLayout,
      description: 'The Glue database Athena queries the logs in',
      value: glueDatabaseName,
    });
    new CfnOutput(this, 'AthenaTable', {
      condition: defaultKeyLayout,
      description: 'The Athena table of log lines, in AthenaDatabase (docs/query.md)',
      value: GLUE_TABLE,
    });
    // A false positive of the validator `cdk synth` runs: LogBucketName
    // refers to the conditional LogBucket only in the CreateBucket branch of
    // its Fn::If, and to BucketName otherwise. The validator reports an
    // output's finding on the stack itself, so only an acknowledgement on the
    // stack reaches it (and it covers the stack's resources too); cfn-lint
    // (scripts/infra-check.sh) still checks W1001 on every resource and output
    // of the same template, with Fn::If branches understood.
    // The same validator checks ObjectLockMode's allowed value 'none' against
    // DefaultRetention's Mode, which the bucket takes only under LockObjects,
    // false for 'none'. A parameter's finding, too, is reported on the stack
    // itself; cfn-lint checks W1030 with the condition understood.
    Validations.of(this).acknowledge({
      id: 'CloudFormation-Validate::W1030',
      reason: "ObjectLockMode is the retention mode only under LockObjects, false for 'none'",
    });
    Validations.of(this).acknowledge({
      id: 'CloudFormation-Validate::W1001',
      reason: 'LogBucketName refers to LogBucket only in the CreateBucket branch of its Fn::If',
    });
  }
}

/** State outlives the stack: deleting it must not delete shipped logs. */
function retain(resource: CfnResource) {
  resource.addOverride('DeletionPolicy', 'Retain');
  resource.addOverride('UpdateReplacePolicy', 'Retain');
}

interface Statement {
  Sid: string;
  Effect: 'Allow';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string>>;
}

function allow(sid: string, action: string | string[], resource: string | string[]): Statement {
  return { Sid: sid, Effect: 'Allow', Action: action, Resource: resource };
}

/** A statement present only when the condition holds (AWS::NoValue otherwise). */
function onlyIf(condition: CfnCondition, statement: Statement): Statement {
  return Fn.conditionIf(condition.logicalId, statement, Aws.NO_VALUE) as unknown as Statement;
}

/** One role per function, assumable by Lambda, with one inline policy. */
function lambdaRole(scope: Construct, id: string, policyName: string, statements: Statement[]) {
  return new iam.CfnRole(scope, id, {
    assumeRolePolicyDocument: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
          Action: 'sts:AssumeRole',
        },
      ],
    },
    policies: [{ policyName, policyDocument: { Version: '2012-10-17', Statement: statements } }],
  });
}

interface RustFunctionProps {
  codeDir: string;
  description: string;
  architecture: string;
  memorySize: number;
  timeout: number;
  role: iam.CfnRole;
  logGroup: logs.CfnLogGroup;
  environment: Record<string, string>;
}

/** A cargo-lambda `bootstrap` on the OS-only runtime, zipped as an asset. */
function rustFunction(scope: Construct, id: string, props: RustFunctionProps) {
  const asset = new s3assets.Asset(scope, `${id}Code`, { path: props.codeDir });
  const fn = new lambda.CfnFunction(scope, id, {
    code: { s3Bucket: asset.s3BucketName, s3Key: asset.s3ObjectKey },
    description: props.description,
    handler: 'bootstrap',
    runtime: 'provided.al2023',
    architectures: [props.architecture],
    memorySize: props.memorySize,
    timeout: props.timeout,
    role: props.role.attrArn,
    loggingConfig: { logGroup: props.logGroup.ref, logFormat: 'JSON' },
    environment: { variables: props.environment },
  });
  asset.addResourceMetadata(fn, 'Code');
  return fn;
}
