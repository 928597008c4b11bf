// The dashboard's body, a CloudFormation Fn::Sub string: ${Ns} is the metrics
// namespace, the other ${...} are resources of the stack. The metric names are
// the ones the functions emit (shipper/src/metrics.rs).

type Metric = string[];

function widget(x: number, y: number, title: string, stat: string, metrics: Metric[]) {
  return {
    type: 'metric',
    x,
    y,
    width: 8,
    height: 6,
    properties: { title, region: '${AWS::Region}', stat, period: 300, metrics },
  };
}

const ns = (name: string): Metric => ['${Ns}', name];

export const dashboardBody = JSON.stringify({
  widgets: [
    widget(0, 0, 'Files shipped', 'Sum', [ns('LogFileShipped'), ns('LogFileEnqueued')]),
    widget(8, 0, 'Bytes shipped', 'Sum', [ns('LogBytesShipped')]),
    widget(16, 0, 'Failures and lost files', 'Sum', [
      ns('LogFileFailed'),
      ns('LogFileLost'),
      ['AWS/Lambda', 'Errors', 'FunctionName', '${ListerFunction}'],
    ]),
    widget(0, 6, 'Lag: last write to shipped (s)', 'Maximum', [
      ns('ShipLagSeconds'),
      ns('ListerCycleSeconds'),
      ns('OldestListingAgeSeconds'),
    ]),
    widget(8, 6, 'Queues', 'Maximum', [
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', '${WorkQueue.QueueName}'],
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', '${DeadLetterQueue.QueueName}'],
    ]),
    widget(16, 6, 'RDS pressure', 'Sum', [
      ns('RdsThrottled'),
      ns('InstanceSkipped'),
      ns('InstancesNotReached'),
    ]),
  ],
});
