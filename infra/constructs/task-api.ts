import { Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  HttpApi,
  type HttpMethod,
  HttpNoneAuthorizer,
  type HttpRoute,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { API_ROUTES, PUBLIC_ROUTES } from '../../shared/api-routes.js';
import { settings as defaultSettings, reservedConcurrency, type Settings } from '../settings.js';
import { grantSendMessage } from './encryption-key.js';
import { offloadFunction } from './offload-function.js';
import type { TaskTable } from './task-table.js';

export interface TaskApiProps {
  /** Where tasks are recorded and read back. */
  readonly store: TaskTable;
  /** Where accepted tasks are enqueued. */
  readonly queue: IQueue;
  /**
   * The other queues a task may be sent to: high-priority queues and other lanes'.
   * @default none
   */
  readonly additionalQueues?: readonly IQueue[];
  /** Applied to every route. */
  readonly authorizer: IHttpRouteAuthorizer;
  /**
   * Scopes every protected route requires: a token must carry one of them.
   * @default none
   */
  readonly authorizationScopes?: readonly string[];
  /** Environment of the API Lambda, normally `functionEnvironment(...)`. */
  readonly environment: Record<string, string>;
  /**
   * Absolute path of the task module whose `taskTypes` the API accepts.
   * @default none: the API accepts only the diagnostic types, if those are on
   */
  readonly taskModule?: string;
  /** @default the defaults of infra/settings.ts */
  readonly settings?: Settings;
  /**
   * How long access log events are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly accessLogRetention?: RetentionDays;
  /**
   * Encrypts the function's log group and the access log group.
   * @default CloudWatch Logs' own encryption
   */
  readonly encryptionKey?: IKey;
}

/** The HTTP API (the routes of `API_ROUTES` plus the catch-all) and the Lambda behind it. */
export class TaskApi extends Construct {
  public readonly handler: LambdaFunction;
  public readonly httpApi: HttpApi;
  public readonly stage: HttpStage;
  public readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: TaskApiProps) {
    super(scope, id);
    const settings = props.settings ?? defaultSettings;

    this.handler = offloadFunction(this, {
      entry: { kind: 'api', taskModule: props.taskModule },
      description: 'offload HTTP API: submits, lists, reads and cancels tasks',
      timeoutSeconds: settings.api.timeoutSeconds,
      memoryMiB: settings.api.memoryMiB,
      environment: props.environment,
      reservedConcurrency: reservedConcurrency(settings).api,
      logEncryptionKey: props.encryptionKey,
    });
    // DeleteItem: a task whose enqueue failed is removed again, so a retry with the same Idempotency-Key starts afresh.
    // Query on the table: reads by id are owner-scoped queries. BatchGetItem: listing reads the page's items.
    props.store.grantItemActions(
      this.handler,
      'dynamodb:PutItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
      'dynamodb:BatchGetItem',
    );
    props.store.grantQueryByOwner(this.handler);
    grantSendMessage(this.handler, [props.queue, ...(props.additionalQueues ?? [])]);

    const integration = new HttpLambdaIntegration('TaskRoutes', this.handler, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    });
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'offload: submit background tasks and fetch their results',
      defaultAuthorizer: props.authorizer,
      // Every route but the public ones, the catch-all included.
      ...(props.authorizationScopes?.length && { defaultAuthorizationScopes: [...props.authorizationScopes] }),
      // The catch-all route lets the handler answer unknown paths (404) and methods (405) in the API's error format.
      defaultIntegration: integration,
      // The generated default stage has neither access logs nor throttling: ours below has both.
      createDefaultStage: false,
    });
    const publicRoutes: HttpRoute[] = [];
    for (const routeKey of Object.values(API_ROUTES)) {
      const [method, path] = routeKey.split(' ') as [HttpMethod, string];
      const isPublic = PUBLIC_ROUTES.has(routeKey);
      // Public routes serve no task data and read neither table nor queue (README "Security model").
      const authorizer = isPublic ? new HttpNoneAuthorizer() : undefined;
      const authorizationScopes = isPublic ? [] : undefined;
      const routes = this.httpApi.addRoutes({ path, methods: [method], integration, authorizer, authorizationScopes });
      if (isPublic) publicRoutes.push(...routes);
      for (const route of isPublic ? routes : []) {
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${routeKey} is public on purpose: it serves no task data and touches neither table nor queue.`,
        });
      }
    }

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? RetentionDays.ONE_MONTH,
      encryptionKey: props.encryptionKey,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      autoDeploy: true,
      throttle: { rateLimit: settings.api.throttleRateLimit, burstLimit: settings.api.throttleBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(accessLogFields)),
      },
    });
    // Anyone may call the public routes, and each call invokes the API Lambda: they get route limits of
    // their own, far below the stage's, so a flood of them is throttled by API Gateway for nothing.
    const publicThrottle = {
      ThrottlingRateLimit: settings.api.publicRouteRateLimit,
      ThrottlingBurstLimit: settings.api.publicRouteBurstLimit,
    };
    (this.stage.node.defaultChild as CfnStage).routeSettings = Object.fromEntries(
      [...PUBLIC_ROUTES].map((routeKey) => [routeKey, publicThrottle]),
    );
    // Route settings name routes by key: the routes must exist before the stage refers to them.
    for (const route of publicRoutes) this.stage.node.addDependency(route);
  }

  /** Base URL of the API, ending in `/`. */
  public get url(): string {
    return this.stage.url;
  }
}

/** One JSON object per request, so Logs Insights can filter on any field. */
const accessLogFields = {
  requestId: '$context.requestId',
  // The dimension of the metric filter that counts throttled requests (OperationsDashboard).
  apiId: '$context.apiId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
};
