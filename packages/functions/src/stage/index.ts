export { createStageHandlers, type StageHandlers } from './handlers';
