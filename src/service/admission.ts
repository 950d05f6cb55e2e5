import type { ServerCallContext } from '@a2a-js/sdk/server';
import type { TaskPlan } from './planner.js';
import type { Reservation } from './scheduler.js';

/** Key in `ServerCallContext.state` under which an admitted send waits for the executor to take it. */
const ADMITTED_KEY = 'a2a-gateway.admitted';

/**
 * What admission decided about a send: its plan (made once, here) and the queue place held for it. The SDK
 * carries the call's context from the request handler to the executor, so the decision travels with the call.
 */
export class AdmittedSend {
  constructor(
    readonly plan: TaskPlan,
    readonly reservation: Reservation,
  ) {}
}

/** Attaches an admitted send to its call. */
export function holdAdmitted(context: ServerCallContext, admitted: AdmittedSend): void {
  context.state.set(ADMITTED_KEY, admitted);
}

/** Takes the call's admitted send (once): from then on the taker releases its reservation. */
export function takeAdmitted(context: ServerCallContext): AdmittedSend | undefined {
  const admitted = context.state.get(ADMITTED_KEY);
  context.state.delete(ADMITTED_KEY);
  return admitted instanceof AdmittedSend ? admitted : undefined;
}

/** Gives back the place of a send nobody took (the SDK refused it before a task existed). */
export function releaseUntaken(context: ServerCallContext): void {
  takeAdmitted(context)?.reservation.release();
}
