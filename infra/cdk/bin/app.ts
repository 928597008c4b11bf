// The CDK app: one RdsLogShipper stack whose functions are the cargo-lambda
// builds under the `lambdaDir` context (default ../../target/lambda, where
// scripts/build-lambdas.sh puts them). Settings are stack parameters:
//   cdk deploy --parameters Instances=db-1,db-2
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, DefaultStackSynthesizer } from 'aws-cdk-lib';
import { RdsLogShipperStack } from '../lib/stack';

const app = new App();
const lambdaDir = path.resolve(app.node.tryGetContext('lambdaDir') ?? '../../target/lambda');
const codeDir = (name: string) => {
  const dir = path.join(lambdaDir, name);
  if (!fs.existsSync(path.join(dir, 'bootstrap'))) {
    throw new Error(
      `${dir}/bootstrap is missing: build the functions first with scripts/build-lambdas.sh ` +
        '(or point -c lambdaDir=... at a cargo lambda build output)',
    );
  }
  return dir;
};

new RdsLogShipperStack(app, app.node.tryGetContext('stackName') ?? 'RdsLogShipper', {
  listerCodeDir: codeDir('lister'),
  workerCodeDir: codeDir('worker'),
  synthesizer: new DefaultStackSynthesizer(),
  analyticsReporting: false,
});
