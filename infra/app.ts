import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { OffloadStack } from './offload-stack.js';

const app = new App();
new OffloadStack(app, 'Offload', {
  description: 'offload: serverless background tasks (HTTP API, SQS, Lambda, DynamoDB)',
});
// A finding that is neither fixed nor acknowledged with a reason fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
