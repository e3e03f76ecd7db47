export {
  type ApiErrorDetail,
  OffloadApiError,
  OffloadClientError,
  TaskCancelledError,
  TaskFailedError,
  TaskOutcomeError,
  TaskWaitTimeoutError,
} from './errors.js';
export {
  type BatchItemError,
  type BatchSubmission,
  type ListOptions,
  OffloadClient,
  type OffloadClientOptions,
  type PollOptions,
  type ResultOptions,
  type RetryOptions,
  type SubmitManyResult,
  type SubmitOptions,
  type TaskHandle,
} from './offload-client.js';
export type {
  PayloadOf,
  ResultOf,
  TaskError,
  TaskListing,
  TaskProgress,
  TaskStatus,
  TaskSummary,
  TaskTypeMap,
  TaskTypeShape,
  TaskView,
} from './task-types.js';
