// The queue moved to src/queue/ (the TaskQueue port and its in-process implementation); these names stay for code
// that still imports them from here.
export {
  QueueFullError,
  SchedulerClosedError,
  type QueueStats as SchedulerStats,
  type Reservation,
  type TaskQueue,
} from '../queue/task-queue.js';
export { InProcessQueue as Scheduler } from '../queue/in-process-queue.js';
