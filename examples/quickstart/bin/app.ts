import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import { Offload } from 'offload/cdk';

const app = new App();
const stack = new Stack(app, 'Quickstart');
const offload = new Offload(stack, 'Offload', {
  // Relative to the directory cdk runs in.
  tasks: 'src/tasks.ts',
  // Every setting is an optional prop; these reports are quick, so a short worker timeout will do.
  worker: { timeoutSeconds: 30, memoryMiB: 512 },
});
new CfnOutput(stack, 'ApiUrl', { value: offload.apiUrl });
