export { EventBridgeEventPublisher, type EventBridgeEventPublisherOptions } from './eventbridge';
export { S3ScriptStore, type S3ScriptStoreOptions } from './s3';
export { SecretsManagerSecretResolver, type SecretsManagerSecretResolverOptions } from './secrets-manager';
export { SqsScriptJobQueue, SqsScriptTestQueue } from './sqs';
export { StepFunctionsExecutions, StepFunctionsTaskReporter } from './step-functions';
